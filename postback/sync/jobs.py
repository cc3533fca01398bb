"""The sync as a job: one run under the sync's advisory lock, and the periodic task.

The service's modules (pyarrow, DuckDB, BigQuery's client) load on the first run, so an
instance with no sync configured never imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from postback.jobs import SYNC_LOCK, PeriodicJob, advisory_lock, autocommit_connection
from postback.sync.schemas import BATCH_SIZE, WRITE_ROWS, Destination

if TYPE_CHECKING:
    from postback.sync.schemas import SyncReport
    from postback.sync.service import Sink

log = structlog.get_logger(__name__)


async def run_sync(
    engine: AsyncEngine,
    destination: Destination,
    *,
    full: bool = False,
    zone: str | None = None,
    batch_size: int = BATCH_SIZE,
    write_rows: int = WRITE_ROWS,
    sink: Sink | None = None,
) -> SyncReport | None:
    """One sync run; None when another run holds the lock."""
    from postback.sync import service

    async with autocommit_connection(engine) as conn, advisory_lock(conn, SYNC_LOCK) as locked:
        if not locked:
            log.info("sync_skipped", reason="another instance holds the sync lock")
            return None
        return await service.sync(
            conn,
            destination,
            full=full,
            zone=zone,
            batch_size=batch_size,
            write_rows=write_rows,
            sink=sink,
        )


class SyncJob(PeriodicJob):
    """Syncs to POSTBACK_SYNC_TO at start and then every `interval` seconds; off when no
    destination is set or the interval is 0. A failed run (the destination away) is logged,
    its watermark unmoved, and the next run copies the same changes again."""

    name = "sync"

    def __init__(self, engine: AsyncEngine, to: str | None, interval: float, zone: str) -> None:
        super().__init__(interval if to else 0)
        self._engine = engine
        self._destination = Destination.parse(to) if to else None
        self._zone = zone

    async def run_once(self) -> SyncReport | None:
        if self._destination is None:
            return None
        return await run_sync(self._engine, self._destination, zone=self._zone)
