"""Compaction as a background task of the app: a round every `interval` seconds."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from postback.rollups import service
from postback.rollups.repository import Compacted

log = structlog.get_logger(__name__)


class CompactionJob:
    """Folds pending deltas every `interval` seconds, keeping day cells for `zone` (the
    reporting timezone); 0 disables it (readers stay exact, they only read more deltas and
    hours)."""

    def __init__(self, engine: AsyncEngine, interval: float, zone: str | None = None) -> None:
        self._engine = engine
        self._interval = interval
        self._zone = zone
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._every_interval(), name="postback-compaction")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> Compacted | None:
        return await service.compact(self._engine, self._zone)

    async def _every_interval(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("compaction_failed")
            await asyncio.sleep(self._interval)
