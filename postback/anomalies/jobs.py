"""The anomaly scan as a job: one scan under the scan's advisory lock, and the periodic task."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from postback.anomalies import service
from postback.anomalies.service import ScanReport
from postback.jobs import ANOMALY_LOCK, PeriodicJob, advisory_lock, autocommit_connection

log = structlog.get_logger(__name__)


async def run_scan(
    engine: AsyncEngine, *, now: datetime | None = None, settle_hours: int = 2
) -> ScanReport | None:
    """One scan at `now` (the clock by default); None when another instance is scanning."""
    now = now or datetime.now(UTC)
    async with (
        autocommit_connection(engine) as conn,
        advisory_lock(conn, ANOMALY_LOCK) as locked,
    ):
        if not locked:
            log.info("anomaly_scan_skipped", reason="another instance holds the scan lock")
            return None
        report = await service.scan(conn, now, settle_hours=settle_hours)
    if report.opened or report.resolved:
        log.info(
            "anomaly_scan",
            opened=report.opened,
            updated=report.updated,
            resolved=report.resolved,
            queued=report.queued,
        )
    return report


class AnomalyJob(PeriodicJob):
    """Scans every `interval` seconds (60 by default); 0 disables it."""

    name = "anomalies"

    def __init__(
        self,
        engine: AsyncEngine,
        interval: float,
        *,
        settle_hours: int = 2,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(interval)
        self._engine = engine
        self._settle_hours = settle_hours
        self._on_queued = on_queued  # the notification worker's wake-up

    async def run_once(self, now: datetime | None = None) -> ScanReport | None:
        report = await run_scan(self._engine, now=now, settle_hours=self._settle_hours)
        if report is not None and report.queued and self._on_queued is not None:
            self._on_queued()
        return report
