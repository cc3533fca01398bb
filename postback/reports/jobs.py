"""The report job every instance runs: sends the scheduled reports that are due.

One short transaction claims the due schedules (`FOR UPDATE SKIP LOCKED`) and moves each to
its next run, so any number of instances send each report once. Then each saved question is
answered as its owner at that moment, and the report is sent through the alert channels'
sender (webhooks through the forwarding `Sender`, email by SMTP). What went wrong (the owner
may no longer ask, the question cannot be answered, the channel is paused or refused it) is
kept in `last_error`; one report's failure does not stop the others. A report is sent at
most once per run: a failed one waits for its next hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from postback.alerting.channels import ChannelSender
from postback.alerting.service import channel_of
from postback.jobs import PeriodicJob
from postback.nlq import service as nlq
from postback.nlq.plan import CannotAnswer
from postback.reports import messages, repository, service
from postback.reports.repository import Due
from postback.settings import Settings

log = structlog.get_logger(__name__)

# Schedules claimed by one transaction; a round claims again until fewer are due.
BATCH = 20
ERROR_KEPT = 1000


@dataclass(frozen=True, slots=True)
class Ran:
    """What one round did: reports sent, and reports that failed (see their last_error)."""

    sent: int
    failed: int


async def send_due(
    engine: AsyncEngine, sender: ChannelSender, settings: Settings, *, now: datetime | None = None
) -> Ran:
    """Send every report due at `now` (the clock by default) that no other run has claimed."""
    now = now or datetime.now(UTC)
    sent = failed = 0
    while True:
        async with engine.begin() as conn:
            claimed = await repository.claim_due(
                conn,
                now,
                BATCH,
                lambda due: service.next_run(
                    due.cadence,
                    due.weekday,
                    due.hour,
                    service.schedule_zone(due, settings.timezone),
                    now,
                ),
            )
        for due in claimed:
            error = await _send(engine, sender, settings, due, now)
            async with engine.begin() as conn:
                await repository.record_run(
                    conn, due.schedule_id, datetime.now(UTC), error[:ERROR_KEPT] if error else None
                )
            if error is None:
                sent += 1
            else:
                failed += 1
                log.warning("report_failed", report=due.schedule_id, error=error)
        if len(claimed) < BATCH:
            return Ran(sent, failed)


async def _send(
    engine: AsyncEngine, sender: ChannelSender, settings: Settings, due: Due, now: datetime
) -> str | None:
    """Answer and send one report; what went wrong, or None."""
    question = due.question
    try:
        async with engine.connect() as conn:
            principal = await service.owner_principal(conn, question)
        if principal is None:
            return (
                "the saved question's owner may no longer ask it (the account or partner is "
                "disabled or removed, or its role changed)"
            )
        if not due.channel_enabled:
            return f"the alert channel {due.channel['channel_name']!r} is paused"
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            answer = await nlq.answer_plan(
                raw,
                principal,
                question.plan,
                settings=settings,
                question=question.question,
                now=now,
            )
        report = messages.Report(
            schedule_id=due.schedule_id,
            saved_question_id=question.id,
            title=question.title,
            cadence=due.cadence,
            language=question.language,
            answer=answer,
            at=now,
            zone=service.schedule_zone(due, settings.timezone).key,
            link=f"{sender.public_url}/dashboard" if sender.public_url else None,
        )
        result = await sender.deliver(
            channel_of(due.channel),
            messages.message(report),
            f"report-{due.schedule_id}-{int(now.timestamp())}",
        )
    except CannotAnswer as exc:
        return f"the question could not be answered: {exc.message}"
    except Exception as exc:  # one report's bug must not stop the others
        log.exception("report_crashed", report=due.schedule_id)
        return f"{type(exc).__name__}: {exc}"
    if result.ok:
        return None
    return result.error or f"the receiver answered {result.status_code}"


class ReportJob(PeriodicJob):
    """Sends the due reports every `interval` seconds (60 by default); 0 disables it."""

    name = "reports"

    def __init__(
        self, engine: AsyncEngine, sender: ChannelSender, settings: Settings, interval: float
    ) -> None:
        super().__init__(interval)
        self._engine = engine
        self._sender = sender
        self._settings = settings

    async def run_once(self, now: datetime | None = None) -> Ran:
        return await send_due(self._engine, self._sender, self._settings, now=now)
