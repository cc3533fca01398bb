"""The cleanup as a job: one round under the cleanup's advisory lock, and the periodic task."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from postback.jobs import CLEANUP_LOCK, PeriodicJob, advisory_lock, autocommit_connection
from postback.lifecycle import service
from postback.lifecycle.schemas import CleanupReport

log = structlog.get_logger(__name__)


async def run_cleanup(
    engine: AsyncEngine,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = service.BATCH_SIZE,
    history_days: int = service.DEFAULT_HISTORY_DAYS,
) -> CleanupReport | None:
    """One cleanup round; None when another run holds the lock (a dry run needs none)."""
    now = now or datetime.now(UTC)
    async with autocommit_connection(engine) as conn:
        if dry_run:
            return await service.cleanup(
                conn, now=now, dry_run=True, batch_size=batch_size, history_days=history_days
            )
        async with advisory_lock(conn, CLEANUP_LOCK) as locked:
            if not locked:
                log.info("cleanup_skipped", reason="another instance holds the cleanup lock")
                return None
            return await service.cleanup(
                conn, now=now, batch_size=batch_size, history_days=history_days
            )


class CleanupJob(PeriodicJob):
    """Runs a cleanup round at start and then every `interval` seconds; 0 disables it."""

    name = "cleanup"

    def __init__(
        self,
        engine: AsyncEngine,
        interval: float,
        *,
        batch_size: int = service.BATCH_SIZE,
        history_days: int = service.DEFAULT_HISTORY_DAYS,
    ) -> None:
        super().__init__(interval)
        self._engine = engine
        self._batch_size = batch_size
        self._history_days = history_days

    async def run_once(self, now: datetime | None = None) -> CleanupReport | None:
        return await run_cleanup(
            self._engine, now=now, batch_size=self._batch_size, history_days=self._history_days
        )
