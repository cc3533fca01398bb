"""The cleanup as a job: one round under a PostgreSQL advisory lock, and the periodic task.

Many app instances (and `postback cleanup` from cron) may try at once; the one that gets
the lock does the round, the others skip it. The lock is session-level, so it lives on the
one connection that does the work and is released right after, or that connection is
closed: a pooled connection must never keep holding it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from postback.lifecycle import repository, service
from postback.lifecycle.schemas import CleanupReport

log = structlog.get_logger(__name__)

# The advisory lock key every instance agrees on: "postback" in ASCII, as a bigint.
CLEANUP_LOCK = 0x706F_7374_6261_636B


@contextlib.asynccontextmanager
async def autocommit_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A dedicated connection on which every statement commits on its own."""
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


@contextlib.asynccontextmanager
async def advisory_lock(conn: AsyncConnection, key: int = CLEANUP_LOCK) -> AsyncIterator[bool]:
    """Whether this connection got `key`; held for the block, then released."""
    if not await repository.try_advisory_lock(conn, key):
        yield False
        return
    try:
        yield True
    finally:
        released = False
        with contextlib.suppress(Exception):
            released = await repository.advisory_unlock(conn, key)
        if not released:
            # Ending the session is the only other way to free the lock.
            await conn.invalidate()


async def run_cleanup(
    engine: AsyncEngine,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = service.BATCH_SIZE,
) -> CleanupReport | None:
    """One cleanup round; None when another run holds the lock (a dry run needs none)."""
    now = now or datetime.now(UTC)
    async with autocommit_connection(engine) as conn:
        if dry_run:
            return await service.cleanup(conn, now=now, dry_run=True, batch_size=batch_size)
        async with advisory_lock(conn) as locked:
            if not locked:
                log.info("cleanup_skipped", reason="another instance holds the cleanup lock")
                return None
            return await service.cleanup(conn, now=now, batch_size=batch_size)


class CleanupJob:
    """Runs a cleanup round at start and then every `interval` seconds; 0 disables it."""

    def __init__(
        self, engine: AsyncEngine, interval: float, *, batch_size: int = service.BATCH_SIZE
    ) -> None:
        self._engine = engine
        self._interval = interval
        self._batch_size = batch_size
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._every_interval(), name="postback-cleanup")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self, now: datetime | None = None) -> CleanupReport | None:
        return await run_cleanup(self._engine, now=now, batch_size=self._batch_size)

    async def _every_interval(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                # A failed round (database away, say) is logged; the next one tries again.
                log.exception("cleanup_failed")
            await asyncio.sleep(self._interval)
