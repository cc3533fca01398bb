"""Compaction as a background task of the app: a round every `interval` seconds."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from postback.jobs import PeriodicJob
from postback.rollups import service
from postback.rollups.repository import Compacted


class CompactionJob(PeriodicJob):
    """Folds pending deltas every `interval` seconds, keeping day cells for `zone` (the
    reporting timezone); 0 disables it (readers stay exact, they only read more deltas and
    hours)."""

    name = "compaction"

    def __init__(self, engine: AsyncEngine, interval: float, zone: str | None = None) -> None:
        super().__init__(interval)
        self._engine = engine
        self._zone = zone

    async def run_once(self) -> Compacted | None:
        return await service.compact(self._engine, self._zone)
