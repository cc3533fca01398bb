"""The anomaly backtest: replay generated traffic (tests/anomalies/traffic.py) hour by hour
into the real tables (bulk SQL through the rollup triggers, so the rollups stay exact), scan
at each simulated hour with the real scan, and score the alerts against the injected
anomalies. Used by tests/anomalies/test_backtest.py and `make bench` (bench/anomalies.py).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from postback.anomalies.jobs import run_scan
from postback.forecasts import model, repository, service
from postback.forecasts.repository import Partner
from postback.rollups.service import compact
from tests.anomalies.traffic import HOUR, START, Episode, Hour, Traffic, schedule

# A finding of one kind that an injected anomaly of another kind truly causes: conversions
# lost to a silence are a drop, and a drop to 15% leaves an offer silent.
IMPLIED = {"silence": {"volume_drop"}, "volume_drop": {"silence"}}
# How far an alert's time may lie from its episode: the window before it (3 hours), and the
# settling of conversion-time hours after it.
BEFORE = timedelta(hours=3)
AFTER = timedelta(hours=6)
# The days before the detectors have enough history are scanned once a day.
WARM_UP_DAYS = 21
# The forecasts are judged on the last complete week of local days, held back from the fit.
HELD_BACK_DAYS = 7
ZONE = "Asia/Kuala_Lumpur"


@dataclass
class Score:
    kind: str
    episodes: int
    detected: int
    alerts: int
    true_alerts: int

    @property
    def recall(self) -> float:
        return self.detected / self.episodes if self.episodes else 1.0

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else 1.0


@dataclass
class Result:
    scores: dict[str, Score]
    false_alerts: dict[str, int]  # per partner, alerts no injected anomaly explains
    weeks_judged: float
    scans: int
    scan_seconds: float
    rows: int
    alerts: list[asyncpg.Record]
    # Per partner: MAPE of daily conversions and payouts on the held-back week (None: no
    # forecast), and how many injected anomalies fell in that week.
    forecasts: dict[str, tuple[float | None, float | None, int]] = field(default_factory=dict)
    naive: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class HeldBack:
    first_day: date
    mape_conversions: float | None
    mape_payouts: float | None
    naive_conversions: float | None = None  # the seasonal naive forecast's, for scale
    naive_payouts: float | None = None


async def _insert(conn: asyncpg.Connection, hour: Hour, tenants: dict[str, int]) -> None:
    rows = hour.rows
    if rows:
        await conn.execute(
            """
INSERT INTO conversion (receipt_id, tenant_id, conversion_id, offer_id, offer_name,
    datetime_conversion, order_id, usd_sale_amount, usd_payout, conversion_currency, status,
    raw, received_at, deduplicated, is_duplicate)
SELECT gen_random_uuid(), t, c, o, o, d, ord, s, p, 'USD', 'approved', '{}', r, true, dup
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],
            $6::numeric[], $7::numeric[], $8::timestamptz[], $9::bool[])
    AS u(t, c, o, d, ord, s, p, r, dup)""",
            [tenants[r.slug] for r in rows],
            [r.conversion_id for r in rows],
            [r.offer_id for r in rows],
            [r.datetime_conversion for r in rows],
            [r.order_id for r in rows],
            [r.sale for r in rows],
            [r.payout for r in rows],
            [r.received_at for r in rows],
            [r.is_duplicate for r in rows],
        )
    if hour.rejections:
        await conn.execute(
            """
INSERT INTO rejection (received_at, tenant_id, reason, errors)
SELECT r, t, 'invalid', '[]' FROM unnest($1::timestamptz[], $2::bigint[]) AS u(r, t)""",
            [at for _, at in hour.rejections],
            [tenants[slug] for slug, _ in hour.rejections],
        )


def _explains(episode: Episode, alert: asyncpg.Record) -> bool:
    kinds = {episode.kind} | IMPLIED.get(episode.kind, set())
    return (
        alert["slug"] == episode.slug
        and alert["kind"] in kinds
        and alert["started_at"] <= episode.end + AFTER
        and alert["last_seen_at"] >= episode.start - BEFORE
    )


def score(episodes: list[Episode], alerts: list[asyncpg.Record]) -> dict[str, Score]:
    kinds = sorted({e.kind for e in episodes} | {a["kind"] for a in alerts})
    scores = {}
    for kind in kinds:
        mine = [e for e in episodes if e.kind == kind and e.slug != "newcomer"]
        found = [a for a in alerts if a["kind"] == kind]
        scores[kind] = Score(
            kind,
            episodes=len(mine),
            detected=sum(any(_explains(e, a) for a in alerts if a["kind"] == kind) for e in mine),
            alerts=len(found),
            true_alerts=sum(
                any(_explains(e, a) for e in episodes if e.slug != "newcomer") for a in found
            ),
        )
    return scores


async def run(
    conn: asyncpg.Connection, engine: AsyncEngine, *, days: int = 60, settle_hours: int = 2
) -> Result:
    """Replay `days` of traffic from START, scanning each simulated hour after the warm-up."""
    episodes = schedule(days)
    traffic = Traffic(episodes)
    tenants = {}
    for partner in traffic.partners:
        tenants[partner.slug] = await conn.fetchval(
            "INSERT INTO tenant (slug, name) VALUES ($1, $2) RETURNING id",
            partner.slug,
            partner.name,
        )
    await conn.execute("DELETE FROM anomaly_scan")
    scans, scan_seconds, rows = 0, 0.0, 0
    hour = START
    end = START + timedelta(days=days)
    while hour < end:
        arrived = traffic.received(hour)
        rows += len(arrived.rows)
        await _insert(conn, arrived, tenants)
        hour += HOUR
        warm = hour < START + timedelta(days=WARM_UP_DAYS)
        if hour.hour == 0:
            await compact(engine)
        if not warm or hour.hour == 0:
            started = time.perf_counter()
            await run_scan(engine, now=hour, settle_hours=settle_hours)
            scan_seconds += time.perf_counter() - started
            scans += 1
    alerts = await conn.fetch("""
SELECT a.*, t.slug FROM alert a JOIN tenant t ON t.id = a.tenant_id ORDER BY a.started_at""")
    false_alerts: dict[str, int] = defaultdict(int)
    for alert in alerts:
        if not any(_explains(e, alert) for e in episodes if e.slug != "newcomer"):
            false_alerts[alert["slug"]] += 1
    await compact(engine)
    forecasts, naive = {}, {}
    for slug, tenant_id in tenants.items():
        held = await held_back(engine, tenant_id, slug, days)
        first = datetime.combine(held.first_day, datetime.min.time(), tzinfo=ZoneInfo(ZONE))
        within = sum(
            1
            for e in episodes
            if e.slug == slug and first <= e.start < first + timedelta(days=HELD_BACK_DAYS)
        )
        forecasts[slug] = (held.mape_conversions, held.mape_payouts, within)
        naive[slug] = (held.naive_conversions, held.naive_payouts)
    return Result(
        score(episodes, list(alerts)),
        dict(false_alerts),
        (days - WARM_UP_DAYS) / 7,
        scans,
        scan_seconds,
        rows,
        list(alerts),
        forecasts,
        naive,
    )


async def held_back(engine: AsyncEngine, tenant_id: int, slug: str, days: int) -> HeldBack:
    """The forecast service's forecast made at the start of the last complete local week,
    from what came before it only, against what that week really brought (the rollups)."""
    zone = ZoneInfo(ZONE)
    last_full = (START + timedelta(days=days)).astimezone(zone).date()  # a partial day
    first = last_full - timedelta(days=HELD_BACK_DAYS)
    partner = Partner(tenant_id, slug, slug, ZONE)
    async with engine.connect() as conn:
        made = await service.partner_forecast(conn, partner, ZONE, first, horizon=HELD_BACK_DAYS)
        actual = await repository.daily(conn, tenant_id, zone, first, last_full)
        history = await repository.daily(conn, tenant_id, zone, first - timedelta(days=14), first)
    if not made.days:
        return HeldBack(first, None, None)
    conversions = [a.conversions for a in actual]
    payouts = [a.payouts_usd for a in actual]
    naive_c = model.seasonal_naive([h.conversions for h in history], HELD_BACK_DAYS).mean
    naive_p = model.seasonal_naive([h.payouts_usd for h in history], HELD_BACK_DAYS).mean
    return HeldBack(
        first,
        model.mape(conversions, [d.conversions for d in made.days]),
        model.mape(payouts, [d.payouts_usd for d in made.days]),
        model.mape(conversions, naive_c),
        model.mape(payouts, naive_p),
    )


def report(result: Result) -> str:
    lines = [
        f"{'kind':<16} {'episodes':>8} {'detected':>8} {'recall':>7} {'alerts':>7} {'precision':>9}"
    ]
    for s in result.scores.values():
        lines.append(
            f"{s.kind:<16} {s.episodes:>8} {s.detected:>8} {s.recall:>7.2f} {s.alerts:>7} "
            f"{s.precision:>9.2f}"
        )
    lines.append(
        f"false alerts per partner: {result.false_alerts or 'none'} over "
        f"{result.weeks_judged:.1f} judged weeks"
    )
    lines.append(f"forecast MAPE on the held-back last week ({HELD_BACK_DAYS} local days, {ZONE}):")
    for slug, (conversions, payouts, within) in result.forecasts.items():
        if conversions is None or payouts is None:
            lines.append(f"  {slug:<12} no forecast (too little history)")
            continue
        naive_c, naive_p = result.naive.get(slug, (None, None))
        baseline = (
            f"; seasonal naive {naive_c * 100:.1f}% / {naive_p * 100:.1f}%"
            if naive_c is not None and naive_p is not None
            else ""
        )
        lines.append(
            f"  {slug:<12} conversions {conversions * 100:5.1f}%  payouts {payouts * 100:5.1f}%"
            f"  ({within} injected anomalies in that week{baseline})"
        )
    lines.append(
        f"{result.rows} rows, {result.scans} scans, "
        f"{result.scan_seconds / max(result.scans, 1) * 1000:.1f} ms a scan on average"
    )
    return "\n".join(lines)


def last_started(alerts: list[asyncpg.Record]) -> datetime | None:
    return max((a["started_at"] for a in alerts), default=None)
