"""Ended browser sessions removed: a session row that expired, was revoked or went unused is
kept SESSION_KEEP_DAYS more (the users page and the audit trail may still name it), then
deleted, so the table holds what is live and recent, not every sign-in ever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from postback.accounts import repository
from postback.jobs import PeriodicJob

log = structlog.get_logger(__name__)

SESSION_KEEP_DAYS = 30


async def prune_sessions(
    engine: AsyncEngine,
    idle_minutes: float,
    *,
    now: datetime | None = None,
    keep_days: int = SESSION_KEEP_DAYS,
) -> int:
    """One round: how many session rows went. Safe on several instances at once (a row is
    deleted once, whoever gets it)."""
    ended_before = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    async with engine.begin() as conn:
        removed = await repository.delete_ended_sessions(
            conn, ended_before, timedelta(minutes=idle_minutes)
        )
    log.info("sessions_pruned", removed=removed)
    return removed


class SessionPruneJob(PeriodicJob):
    """Prunes ended sessions at start and then every `interval` seconds; 0 disables it."""

    name = "session_prune"

    def __init__(self, engine: AsyncEngine, interval: float, idle_minutes: float) -> None:
        super().__init__(interval)
        self._engine = engine
        self._idle_minutes = idle_minutes

    async def run_once(self) -> int:
        return await prune_sessions(self._engine, self._idle_minutes)
