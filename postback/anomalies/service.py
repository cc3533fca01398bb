"""One anomaly scan: bring the received-time counts up to `now`, run every detector on what
is new, and keep the findings as alerts.

`now` is given (the job passes the clock, the backtest each simulated hour), and nothing
here reads the clock. Hourly detectors judge each complete hour once (the scan keeps the last
one judged): rejections on received time at once, conversion-time figures `settle` hours
later, when late postbacks for that hour have arrived. Silence and the row checks (order ids,
odd conversion times) look at the present on every scan.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from postback.anomalies import detectors, messages, repository
from postback.anomalies.detectors import MIN_WEEKS, WEEKS, Kind, Severity
from postback.anomalies.repository import (
    ConversionCell,
    Finding,
    Partner,
    ReceivedCell,
    ScanState,
    Series,
)

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
# The hours a volume or rate is judged over (the hour and the two before it).
WINDOW_HOURS = 3
# How far back the first scan counts received postbacks.
FIRST_COUNT = (WEEKS + 1) * WEEK
# Hours a late scan catches up on at most (the job was stopped for a while).
MAX_CATCH_UP = 24
# A received hour is recounted from a little before the watermark: a row committed just after
# a scan may carry a received time just before it.
RECOUNT_MARGIN = timedelta(minutes=5)
# Silence: the least quiet time judged, and the most quiet hours added up.
MIN_QUIET = timedelta(minutes=30)
MAX_QUIET_HOURS = 24
# An hourly kind's alert ends when its finding has not come back for this long.
QUIET_BEFORE_RESOLVED = timedelta(hours=WINDOW_HOURS)
HOURLY_KINDS = (
    Kind.VOLUME_SPIKE,
    Kind.VOLUME_DROP,
    Kind.REJECTION_SURGE,
    Kind.DUPLICATE_SURGE,
    Kind.PAYOUT_RATIO,
    Kind.ORDER_REPEAT,
    Kind.FUTURE_TIME,
    Kind.STALE_TIME,
)

Key = tuple[int, str | None]


@dataclass(frozen=True, slots=True)
class ScanReport:
    now: datetime
    counted_cells: int
    judged_hours: int
    findings: int
    opened: int
    updated: int
    resolved: int
    queued: int = 0  # notifications queued to the alert channels


def hour_floor(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


async def scan(conn: AsyncConnection, now: datetime, *, settle_hours: int = 2) -> ScanReport:
    """One scan at `now` (see the module's docstring)."""
    now = now.astimezone(UTC)
    prior = await repository.state(conn)
    since = hour_floor(
        prior.received_through - RECOUNT_MARGIN if prior else hour_floor(now) - FIRST_COUNT
    )
    counted = await repository.count_received(conn, min(since, hour_floor(now)), now)
    last_complete = hour_floor(now) - HOUR
    first = prior.evaluated_hour + HOUR if prior else last_complete
    first = max(first, last_complete - (MAX_CATCH_UP - 1) * HOUR)
    judged = [first + i * HOUR for i in range(int((last_complete - first) / HOUR) + 1)]
    partners = await repository.partners(conn)
    history = {
        (s.tenant_id, s.offer_id): s
        for s in await repository.series(conn)
        if s.tenant_id in partners
    }
    findings = await _silence(conn, now, partners, history)
    for hour in judged:
        findings += await _rejections(conn, hour, partners, history)
        findings += await _conversions(conn, hour - settle_hours * HOUR, partners, history)
    findings += await _rows(conn, now, partners, history)
    latest = {(f.tenant_id, f.kind, f.offer_id): f for f in findings}
    kept = await repository.keep_findings(conn, list(latest.values()), now)
    resolved = await repository.resolve_quiet(conn, now, Kind.SILENCE, now)
    for kind in HOURLY_KINDS:
        resolved += await repository.resolve_quiet(conn, now, kind, now - QUIET_BEFORE_RESOLVED)
    evaluated = judged[-1] if judged else (prior.evaluated_hour if prior else last_complete)
    await repository.save_state(conn, ScanState(now, evaluated))
    return ScanReport(
        now, counted, len(judged), len(latest), kept.opened, kept.updated, resolved, kept.queued
    )


def _past_weeks(start: datetime, first_hour: datetime) -> list[int]:
    """The past weeks (1..WEEKS) whose same window lies within the series' history."""
    return [k for k in range(1, WEEKS + 1) if start - k * WEEK >= first_hour]


def _window(end_hour: datetime) -> list[datetime]:
    return [end_hour - j * HOUR for j in range(WINDOW_HOURS)]


def _weekly_hours(end_hour: datetime) -> list[datetime]:
    return [h - k * WEEK for k in range(WEEKS + 1) for h in _window(end_hour)]


def _usual_rate(
    counts: dict[tuple[int, str | None, datetime], int], s: Series, hour: datetime
) -> float | None:
    """The median postbacks of `hour`'s hour of week in the series' past weeks."""
    weeks = _past_weeks(hour, s.first_hour)
    if len(weeks) < MIN_WEEKS:
        return None
    return float(
        statistics.median(counts.get((s.tenant_id, s.offer_id, hour - k * WEEK), 0) for k in weeks)
    )


async def _silence(
    conn: AsyncConnection,
    now: datetime,
    partners: dict[int, Partner],
    history: dict[Key, Series],
) -> list[Finding]:
    candidates = [
        s
        for s in history.values()
        if now - s.last_received_at >= MIN_QUIET
        and len(_past_weeks(hour_floor(now), s.first_hour)) >= MIN_WEEKS
    ]
    if not candidates:
        return []
    quiet_hours: dict[Key, list[datetime]] = {}
    needed: set[datetime] = set()
    for s in candidates:
        hours = [hour_floor(now) - i * HOUR for i in range(MAX_QUIET_HOURS)]
        hours = [h for h in hours if h + HOUR > s.last_received_at]
        quiet_hours[(s.tenant_id, s.offer_id)] = hours
        needed.update(h - k * WEEK for h in hours for k in range(1, WEEKS + 1))
    counts = {
        (c.tenant_id, c.offer_id, c.hour): c.postbacks
        for c in await repository.received_cells(conn, sorted(needed))
    }
    found: list[Finding] = []
    silent_partners: set[int] = set()
    # Partners first: a partner that is silent as a whole is one alert, not one per offer.
    for s in sorted(candidates, key=lambda s: s.offer_id is not None):
        if s.offer_id is not None and s.tenant_id in silent_partners:
            continue
        partner = partners[s.tenant_id]
        expected = 0.0
        for h in quiet_hours[(s.tenant_id, s.offer_id)]:
            share = (min(h + HOUR, now) - max(h, s.last_received_at)) / HOUR
            expected += share * (_usual_rate(counts, s, h) or 0.0)
        severity = detectors.silence(expected, partner.sensitivity)
        if severity is None:
            continue
        if s.offer_id is None:
            silent_partners.add(s.tenant_id)
        usual = _usual_rate(counts, s, hour_floor(now)) or 0.0
        quiet = (now - s.last_received_at) / HOUR
        en, zh = messages.silence(partner.name, s.offer_id, round(quiet, 1), usual)
        found.append(
            Finding(
                s.tenant_id,
                s.offer_id,
                Kind.SILENCE,
                severity,
                s.last_received_at,
                0.0,
                usual,
                {"quiet_hours": round(quiet, 2), "expected_in_quiet": round(expected, 1)},
                en,
                zh,
            )
        )
    return found


def _sums(
    cells: Iterable[ConversionCell | ReceivedCell], end_hour: datetime
) -> dict[tuple[Key, int], list[float]]:
    """Per series (each offer and the partner as a whole) and week back (0 = this one):
    the window's sums of each measure."""
    window = set(_window(end_hour))
    sums: dict[tuple[Key, int], list[float]] = defaultdict(lambda: [0.0] * 4)
    for c in cells:
        week = next(k for k in range(WEEKS + 1) if c.hour + k * WEEK in window)
        if isinstance(c, ConversionCell):
            values = (c.conversions, c.duplicates, c.sales, c.payouts)
            keys: Sequence[str | None] = (None, c.offer_id) if c.offer_id is not None else (None,)
        else:
            values = (c.postbacks, c.rejections, 0.0, 0.0)
            keys = (c.offer_id,)
        for offer in keys:
            total = sums[((c.tenant_id, offer), week)]
            for i, v in enumerate(values):
                total[i] += v
    return sums


def _samples(
    sums: dict[tuple[Key, int], list[float]], key: Key, weeks: list[int]
) -> list[list[float]]:
    return [sums.get((key, k), [0.0] * 4) for k in weeks]


async def _rejections(
    conn: AsyncConnection,
    hour: datetime,
    partners: dict[int, Partner],
    history: dict[Key, Series],
) -> list[Finding]:
    cells = await repository.received_cells(conn, _weekly_hours(hour))
    sums = _sums((c for c in cells if c.offer_id is None), hour)
    start = hour - (WINDOW_HOURS - 1) * HOUR
    found = []
    for (tenant_id, _), s in history.items():
        if s.offer_id is not None:
            continue
        weeks = _past_weeks(start, s.first_hour)
        if len(weeks) < MIN_WEEKS:
            continue
        postbacks, rejected, *_ = sums.get(((tenant_id, None), 0), [0.0] * 4)
        past = [r / (p + r) for p, r, *_ in _samples(sums, (tenant_id, None), weeks) if p + r]
        partner = partners[tenant_id]
        verdict = detectors.rate_surge(
            Kind.REJECTION_SURGE,
            int(rejected),
            int(postbacks + rejected),
            past,
            partner.sensitivity,
        )
        if verdict:
            en, zh = messages.rate(verdict.kind, partner.name, verdict.observed, verdict.expected)
            found.append(_finding(tenant_id, None, verdict, start, en, zh))
    return found


async def _conversions(
    conn: AsyncConnection,
    hour: datetime,
    partners: dict[int, Partner],
    history: dict[Key, Series],
) -> list[Finding]:
    cells = await repository.conversion_cells(conn, _weekly_hours(hour))
    sums = _sums(cells, hour)
    start = hour - (WINDOW_HOURS - 1) * HOUR
    found = []
    for key, s in history.items():
        weeks = _past_weeks(start, s.first_hour)
        if len(weeks) < MIN_WEEKS:
            continue
        partner = partners[s.tenant_id]
        now_sums = sums.get((key, 0), [0.0] * 4)
        past = _samples(sums, key, weeks)
        verdicts = [detectors.volume(now_sums[0], [p[0] for p in past], partner.sensitivity)]
        if s.offer_id is None:
            verdicts.append(
                detectors.rate_surge(
                    Kind.DUPLICATE_SURGE,
                    int(now_sums[1]),
                    int(now_sums[0] + now_sums[1]),
                    [p[1] / (p[0] + p[1]) for p in past if p[0] + p[1]],
                    partner.sensitivity,
                )
            )
        elif now_sums[2] > 0:
            verdicts.append(
                detectors.payout_ratio(
                    int(now_sums[0]),
                    now_sums[3] / now_sums[2],
                    [p[3] / p[2] for p in past if p[2] > 0],
                    partner.sensitivity,
                )
            )
        for verdict in verdicts:
            if verdict is None:
                continue
            if verdict.kind in (Kind.VOLUME_SPIKE, Kind.VOLUME_DROP):
                en, zh = messages.volume(
                    verdict.kind,
                    partner.name,
                    s.offer_id,
                    verdict.observed,
                    verdict.expected,
                    WINDOW_HOURS,
                )
            elif verdict.kind is Kind.DUPLICATE_SURGE:
                en, zh = messages.rate(
                    verdict.kind, partner.name, verdict.observed, verdict.expected
                )
            else:
                en, zh = messages.payout_ratio(
                    partner.name, s.offer_id, verdict.observed, verdict.expected
                )
            found.append(_finding(s.tenant_id, s.offer_id, verdict, start, en, zh))
    return found


async def _rows(
    conn: AsyncConnection,
    now: datetime,
    partners: dict[int, Partner],
    history: dict[Key, Series],
) -> list[Finding]:
    """Odd conversion times and repeated order ids among what arrived in the last hour."""
    since = now - HOUR
    settled = {
        t
        for (t, offer), s in history.items()
        if offer is None and len(_past_weeks(now, s.first_hour)) >= MIN_WEEKS
    }
    found = []
    checks = await repository.row_checks(
        conn, since, now, detectors.FUTURE_HOURS, detectors.STALE_DAYS
    )
    for check in checks:
        if check.tenant_id not in settled:
            continue
        partner = partners[check.tenant_id]
        for kind, rows in ((Kind.FUTURE_TIME, check.future), (Kind.STALE_TIME, check.stale)):
            if detectors.count_over(rows, detectors.TIME_ROWS_MIN, partner.sensitivity):
                en, zh = messages.odd_times(kind, partner.name, rows)
                verdict = detectors.Verdict(kind, Severity.WARNING, rows, 0.0)
                found.append(_finding(check.tenant_id, None, verdict, since, en, zh))
    least = min((p.sensitivity for p in partners.values()), default=1.0)
    minimum = max(2, math.ceil(detectors.ORDER_REPEAT_MIN / least))
    repeated = await repository.repeated_orders(conn, since, now, now - 24 * HOUR, minimum)
    seen: set[int] = set()
    for order in repeated:  # the most repeated first: one alert per partner
        if order.tenant_id in seen or order.tenant_id not in settled:
            continue
        partner = partners[order.tenant_id]
        if not detectors.count_over(
            order.conversions, detectors.ORDER_REPEAT_MIN, partner.sensitivity
        ):
            continue
        seen.add(order.tenant_id)
        en, zh = messages.order_repeat(partner.name, order.order_id, order.conversions)
        verdict = detectors.Verdict(Kind.ORDER_REPEAT, Severity.WARNING, order.conversions, 1.0)
        finding = _finding(order.tenant_id, None, verdict, since, en, zh)
        found.append(replace(finding, detail={"order_id": order.order_id}))
    return found


def _finding(
    tenant_id: int,
    offer_id: str | None,
    verdict: detectors.Verdict,
    start: datetime,
    en: str,
    zh: str,
) -> Finding:
    return Finding(
        tenant_id,
        offer_id,
        verdict.kind,
        verdict.severity,
        start,
        verdict.observed,
        verdict.expected,
        {},
        en,
        zh,
    )
