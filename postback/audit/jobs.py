"""The audit log's retention as a job: entries older than POSTBACK_AUDIT_DAYS deleted in
batches, one instance at a time (its own advisory lock)."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from postback.audit import service
from postback.jobs import AUDIT_LOCK, PeriodicJob, advisory_lock, autocommit_connection

log = structlog.get_logger(__name__)


async def prune(
    engine: AsyncEngine,
    days: int,
    *,
    now: datetime | None = None,
    batch_size: int = service.BATCH_SIZE,
) -> int | None:
    """One round: how many entries went; None when another instance holds the lock."""
    now = now or datetime.now(UTC)
    async with autocommit_connection(engine) as conn, advisory_lock(conn, AUDIT_LOCK) as locked:
        if not locked:
            log.info("audit_prune_skipped", reason="another instance holds the lock")
            return None
        removed = await service.prune(conn, now=now, days=days, batch_size=batch_size)
    log.info("audit_pruned", removed=removed, days=days)
    return removed


class AuditRetentionJob(PeriodicJob):
    """Prunes the audit log at start and then every `interval` seconds; 0 disables it."""

    name = "audit_retention"

    def __init__(self, engine: AsyncEngine, interval: float, days: int) -> None:
        super().__init__(interval)
        self._engine = engine
        self._days = days

    async def run_once(self, now: datetime | None = None) -> int | None:
        return await prune(self._engine, self._days, now=now)
