"""What every background job shares: a dedicated autocommit connection, a PostgreSQL advisory
lock so that one instance at a time does a round, and a task that runs a round every interval.

Any number of instances may run the same jobs: the one that gets a job's lock does the round,
the others skip it. The lock is session-level, so it lives on the one connection that does the
work and is released right after, or that connection is closed: a pooled connection must never
keep holding it. A new job takes a key of its own from the table below.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from postback import db

log = structlog.get_logger(__name__)

# The advisory lock keys every instance agrees on: each job's name in ASCII, as a bigint.
CLEANUP_LOCK = 0x706F_7374_6261_636B  # "postback"
COMPACTION_LOCK = 0x726F_6C6C_7570_73  # "rollups"
AUDIT_LOCK = 0x6175_6469_74  # "audit"
SYNC_LOCK = 0x7379_6E63  # "sync"
ANOMALY_LOCK = 0x616E_6F6D_616C_79  # "anomaly"


@contextlib.asynccontextmanager
async def autocommit_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A dedicated connection on which every statement commits on its own."""
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


@contextlib.asynccontextmanager
async def advisory_lock(conn: AsyncConnection, key: int) -> AsyncIterator[bool]:
    """Whether this connection got `key`; held for the block, then released."""
    if not await db.try_advisory_lock(conn, key):
        yield False
        return
    try:
        yield True
    finally:
        released = False
        with contextlib.suppress(Exception):
            released = await db.advisory_unlock(conn, key)
        if not released:
            # Ending the session is the only other way to free the lock.
            await conn.invalidate()


class PeriodicJob(ABC):
    """Runs `run_once` at start and then every `interval` seconds (0 disables it); a failed
    round (the database away, say) is logged and the next one tries again."""

    name: str

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._every_interval(), name=f"postback-{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @abstractmethod
    async def run_once(self) -> object:
        """One round of the job."""

    async def _every_interval(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception(f"{self.name}_failed")
            await asyncio.sleep(self._interval)
