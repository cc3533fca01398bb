"""All SQL of the anomaly scans and alerts.

Every read of `conversion` or `rejection` is bounded by a partner's id and a received-time
range, so it walks the (tenant_id, received_at) indexes: a scan costs what arrived in the
last hour, whatever the table holds. Conversion-time figures come from the hourly rollups.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


@dataclass(frozen=True, slots=True)
class ScanState:
    received_through: datetime
    evaluated_hour: datetime


@dataclass(frozen=True, slots=True)
class Series:
    tenant_id: int
    offer_id: str | None
    first_hour: datetime
    last_received_at: datetime


@dataclass(frozen=True, slots=True)
class ReceivedCell:
    tenant_id: int
    offer_id: str | None
    hour: datetime
    postbacks: int
    rejections: int


@dataclass(frozen=True, slots=True)
class ConversionCell:
    tenant_id: int
    offer_id: str | None
    hour: datetime
    conversions: int
    duplicates: int
    sales: float
    payouts: float


@dataclass(frozen=True, slots=True)
class RowChecks:
    tenant_id: int
    future: int
    stale: int


@dataclass(frozen=True, slots=True)
class RepeatedOrder:
    tenant_id: int
    order_id: str
    conversions: int


@dataclass(frozen=True, slots=True)
class Partner:
    tenant_id: int
    slug: str
    name: str
    sensitivity: float


@dataclass(frozen=True, slots=True)
class Finding:
    tenant_id: int
    offer_id: str | None
    kind: str
    severity: str
    started_at: datetime
    observed: float
    expected: float | None
    detail: dict[str, Any]
    message_en: str
    message_zh: str


async def state(conn: AsyncConnection) -> ScanState | None:
    row = (
        await conn.execute(text("SELECT received_through, evaluated_hour FROM anomaly_scan"))
    ).first()
    return None if row is None else ScanState(row.received_through, row.evaluated_hour)


async def save_state(conn: AsyncConnection, scan: ScanState) -> None:
    await conn.execute(
        text("""
INSERT INTO anomaly_scan (id, received_through, evaluated_hour) VALUES (1, :through, :hour)
ON CONFLICT (id) DO UPDATE SET received_through = excluded.received_through,
    evaluated_hour = excluded.evaluated_hour"""),
        {"through": scan.received_through, "hour": scan.evaluated_hour},
    )


# Recounts whole received hours [since, until) of every partner (each through its own index
# range) and replaces their cells; the partner's own row (offer_id NULL) holds its total and
# its rejections. Each series' first hour and last postback move along.
_COUNT = """
WITH received AS (
    SELECT t.id AS tenant_id, c.offer_id, date_trunc('hour', c.received_at, 'UTC') AS hour,
           c.received_at
    FROM tenant t CROSS JOIN LATERAL (
        SELECT offer_id, received_at FROM conversion
        WHERE tenant_id = t.id AND received_at >= :since AND received_at < :until
    ) c
), by_offer AS (
    SELECT tenant_id, offer_id, hour, count(*) AS postbacks, max(received_at) AS last_at
    FROM received WHERE offer_id IS NOT NULL GROUP BY 1, 2, 3
), by_partner AS (
    SELECT tenant_id, hour, count(*) AS postbacks, max(received_at) AS last_at
    FROM received GROUP BY 1, 2
), refused AS (
    SELECT t.id AS tenant_id, date_trunc('hour', r.received_at, 'UTC') AS hour, count(*) AS n
    FROM tenant t CROSS JOIN LATERAL (
        SELECT received_at FROM rejection
        WHERE tenant_id = t.id AND received_at >= :since AND received_at < :until
    ) r GROUP BY 1, 2
), cells AS (
    SELECT tenant_id, offer_id, hour, postbacks, 0::bigint AS rejections, last_at FROM by_offer
    UNION ALL
    SELECT coalesce(p.tenant_id, r.tenant_id), NULL, coalesce(p.hour, r.hour),
           coalesce(p.postbacks, 0), coalesce(r.n, 0), p.last_at
    FROM by_partner p FULL JOIN refused r USING (tenant_id, hour)
), kept AS (
    INSERT INTO received_hourly AS h (tenant_id, offer_id, hour, postbacks, rejections)
    SELECT tenant_id, offer_id, hour, postbacks, rejections FROM cells
    ON CONFLICT ON CONSTRAINT uq_received_hourly_cell DO UPDATE
        SET postbacks = excluded.postbacks, rejections = excluded.rejections
    RETURNING 1
), series AS (
    INSERT INTO received_series AS s (tenant_id, offer_id, first_hour, last_received_at)
    SELECT tenant_id, offer_id, min(hour), max(last_at) FROM cells
    WHERE last_at IS NOT NULL GROUP BY 1, 2
    ON CONFLICT ON CONSTRAINT uq_received_series_key DO UPDATE
        SET first_hour = least(s.first_hour, excluded.first_hour),
            last_received_at = greatest(s.last_received_at, excluded.last_received_at)
    RETURNING 1
)
SELECT (SELECT count(*) FROM kept) AS cells
"""


async def count_received(conn: AsyncConnection, since: datetime, until: datetime) -> int:
    """Recount the received hours from `since` (whole hours) to `until`; cells kept."""
    row = (await conn.execute(text(_COUNT), {"since": since, "until": until})).one()
    return int(row.cells)


async def partners(conn: AsyncConnection) -> dict[int, Partner]:
    rows = await conn.execute(
        text("""
SELECT t.id, t.slug, t.name, coalesce(s.sensitivity, 1) AS sensitivity
FROM tenant t LEFT JOIN anomaly_setting s ON s.tenant_id = t.id
WHERE t.enabled""")
    )
    return {r.id: Partner(r.id, r.slug, r.name, float(r.sensitivity)) for r in rows}


async def series(conn: AsyncConnection) -> list[Series]:
    rows = await conn.execute(
        text("SELECT tenant_id, offer_id, first_hour, last_received_at FROM received_series")
    )
    return [Series(r.tenant_id, r.offer_id, r.first_hour, r.last_received_at) for r in rows]


async def received_cells(conn: AsyncConnection, hours: Sequence[datetime]) -> list[ReceivedCell]:
    rows = await conn.execute(
        text("""
SELECT tenant_id, offer_id, hour, postbacks, rejections FROM received_hourly
WHERE hour = ANY(:hours)"""),
        {"hours": list(hours)},
    )
    return [ReceivedCell(r.tenant_id, r.offer_id, r.hour, r.postbacks, r.rejections) for r in rows]


async def conversion_cells(
    conn: AsyncConnection, hours: Sequence[datetime]
) -> list[ConversionCell]:
    """Conversion-time cells of `hours` per partner × offer: the rollup plus its deltas."""
    rows = await conn.execute(
        text("""
SELECT tenant_id, offer_id, hour, sum(conversions) AS conversions,
       sum(duplicates) AS duplicates, sum(sales_usd) AS sales, sum(payouts_usd) AS payouts
FROM (
    SELECT tenant_id, offer_id, hour, conversions, duplicates, sales_usd, payouts_usd
    FROM conversion_hourly WHERE hour = ANY(:hours)
    UNION ALL
    SELECT tenant_id, offer_id, hour, conversions, duplicates, sales_usd, payouts_usd
    FROM conversion_hourly_delta WHERE hour = ANY(:hours)
) cells
GROUP BY 1, 2, 3"""),
        {"hours": list(hours)},
    )
    return [
        ConversionCell(
            r.tenant_id,
            r.offer_id,
            r.hour,
            int(r.conversions),
            int(r.duplicates),
            float(r.sales),
            float(r.payouts),
        )
        for r in rows
    ]


async def row_checks(
    conn: AsyncConnection, since: datetime, until: datetime, future: float, stale: float
) -> list[RowChecks]:
    """Per partner, rows received in [since, until) dated `future` hours ahead of their
    receipt, or `stale` days behind it."""
    rows = await conn.execute(
        text("""
SELECT t.id AS tenant_id,
       count(*) FILTER (WHERE c.datetime_conversion > c.received_at
                        + make_interval(hours => :future)) AS future,
       count(*) FILTER (WHERE c.datetime_conversion < c.received_at
                        - make_interval(days => :stale)) AS stale
FROM tenant t CROSS JOIN LATERAL (
    SELECT datetime_conversion, received_at FROM conversion
    WHERE tenant_id = t.id AND received_at >= :since AND received_at < :until
      AND datetime_conversion IS NOT NULL AND NOT is_duplicate
) c
GROUP BY t.id"""),
        {"since": since, "until": until, "future": int(future), "stale": int(stale)},
    )
    return [RowChecks(r.tenant_id, r.future, r.stale) for r in rows if r.future or r.stale]


async def repeated_orders(
    conn: AsyncConnection, since: datetime, until: datetime, day_start: datetime, minimum: int
) -> list[RepeatedOrder]:
    """The order_ids received in [since, until) that are on at least `minimum` conversions
    (first rows) received since `day_start`; each counted through the order_id index."""
    rows = await conn.execute(
        text("""
WITH recent AS (
    SELECT DISTINCT t.id AS tenant_id, c.order_id
    FROM tenant t CROSS JOIN LATERAL (
        SELECT order_id FROM conversion
        WHERE tenant_id = t.id AND received_at >= :since AND received_at < :until
          AND order_id IS NOT NULL AND NOT is_duplicate
    ) c
)
SELECT r.tenant_id, r.order_id, count(*) AS conversions
FROM recent r JOIN conversion c ON c.order_id = r.order_id AND c.tenant_id = r.tenant_id
WHERE c.received_at >= :day_start AND c.received_at < :until AND NOT c.is_duplicate
GROUP BY 1, 2
HAVING count(*) >= :minimum
ORDER BY 3 DESC"""),
        {"since": since, "until": until, "day_start": day_start, "minimum": minimum},
    )
    return [RepeatedOrder(r.tenant_id, r.order_id, r.conversions) for r in rows]


# One finding kept: a new alert opened, or the unresolved one of its partner × offer × kind
# updated. An alert just opened, or just escalated from warning to critical, queues a
# notification to each enabled channel that takes it (every partner's or this one's, at this
# severity) in the same statement, so no alert is kept without its notifications
# (postback/alerting sends them). `prior` reads the alert as it was before this statement.
_UPSERT = """
WITH prior AS (
    SELECT severity FROM alert
    WHERE tenant_id = :tenant_id AND kind = :kind
      AND coalesce(offer_id, '') = coalesce(CAST(:offer_id AS text), '') AND state <> 'resolved'
), kept AS (
    INSERT INTO alert AS a (tenant_id, offer_id, kind, severity, started_at, last_seen_at,
                            observed, expected, detail, message_en, message_zh)
    VALUES (:tenant_id, :offer_id, :kind, :severity, :started_at, :now, :observed, :expected,
            CAST(:detail AS jsonb), :message_en, :message_zh)
    ON CONFLICT (tenant_id, kind, coalesce(offer_id, '')) WHERE state <> 'resolved' DO UPDATE SET
        severity = CASE WHEN a.severity = 'critical' THEN 'critical' ELSE excluded.severity END,
        started_at = least(a.started_at, excluded.started_at),
        last_seen_at = excluded.last_seen_at,
        observed = excluded.observed,
        expected = excluded.expected,
        detail = excluded.detail,
        message_en = excluded.message_en,
        message_zh = excluded.message_zh,
        findings = a.findings + 1
    RETURNING a.id, a.tenant_id, a.severity, (xmax = 0) AS opened
), event AS (
    SELECT kept.*, CASE
        WHEN kept.opened THEN 'opened'
        WHEN kept.severity = 'critical' AND (SELECT severity FROM prior) = 'warning'
            THEN 'escalated'
    END AS name
    FROM kept
), queued AS (
    INSERT INTO alert_notification (channel_id, alert_id, event)
    SELECT c.id, e.id, e.name FROM event e
    JOIN alert_channel c ON c.enabled
        AND (c.tenant_id IS NULL OR c.tenant_id = e.tenant_id)
        AND (c.min_severity = 'warning' OR e.severity = 'critical')
    WHERE e.name IS NOT NULL
    ON CONFLICT ON CONSTRAINT uq_alert_notification_event DO NOTHING
    RETURNING 1
)
SELECT opened, (SELECT count(*) FROM queued) AS queued FROM event
"""


@dataclass(frozen=True, slots=True)
class Kept:
    opened: int
    updated: int
    queued: int  # notifications queued to the alert channels


async def keep_findings(conn: AsyncConnection, findings: Sequence[Finding], now: datetime) -> Kept:
    """Open an alert per new finding, update the one a repeated finding belongs to, queue
    the notifications of what opened or escalated."""
    opened = queued = 0
    for f in findings:
        row = (
            await conn.execute(
                text(_UPSERT),
                {
                    "tenant_id": f.tenant_id,
                    "offer_id": f.offer_id,
                    "kind": f.kind,
                    "severity": f.severity,
                    "started_at": f.started_at,
                    "now": now,
                    "observed": f.observed,
                    "expected": f.expected,
                    "detail": json.dumps(f.detail, default=str),
                    "message_en": f.message_en,
                    "message_zh": f.message_zh,
                },
            )
        ).one()
        opened += bool(row.opened)
        queued += int(row.queued)
    return Kept(opened, len(findings) - opened, queued)


async def resolve_quiet(
    conn: AsyncConnection, now: datetime, kind: str, quiet_since: datetime
) -> int:
    """Resolve the alerts of `kind` whose finding was last seen before `quiet_since`."""
    result = await conn.execute(
        text("""
UPDATE alert SET state = 'resolved', ended_at = last_seen_at, resolved_at = :now,
    resolved_by = 'scan'
WHERE state <> 'resolved' AND kind = :kind AND last_seen_at < :quiet_since"""),
        {"now": now, "kind": kind, "quiet_since": quiet_since},
    )
    return int(result.rowcount)


# Alerts as the API and pages show them.
_ALERT = """
SELECT a.id, t.slug AS tenant, t.name AS tenant_name, a.offer_id, a.kind, a.severity, a.state,
       a.started_at, a.last_seen_at, a.ended_at, a.observed, a.expected, a.message_en,
       a.message_zh, a.acknowledged_at, a.resolved_at, a.detail, t.timezone
FROM alert a JOIN tenant t ON t.id = a.tenant_id
"""


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    tenant: str
    tenant_name: str
    offer_id: str | None
    kind: str
    severity: str
    state: str
    started_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    observed: float
    expected: float | None
    message_en: str
    message_zh: str
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    detail: dict[str, Any]
    timezone: str | None  # the partner's reporting timezone (None: the service's)


async def list_alerts(
    conn: AsyncConnection | AsyncSession,
    *,
    tenant_id: int | None,
    slug: str | None,
    state: str | None,
    limit: int,
    kind: str | None = None,
) -> list[AlertRow]:
    """Alerts, newest first: of one partner when `tenant_id` is given, of the partner
    `slug` names, in `state`, of `kind`; unresolved ones before resolved ones."""
    rows = await conn.execute(
        text(
            _ALERT
            + """
WHERE (CAST(:tenant_id AS bigint) IS NULL OR a.tenant_id = :tenant_id)
  AND (CAST(:slug AS text) IS NULL OR t.slug = :slug)
  AND (CAST(:state AS text) IS NULL OR a.state = :state)
  AND (CAST(:kind AS text) IS NULL OR a.kind = :kind)
ORDER BY a.state = 'resolved', a.started_at DESC, a.id DESC
LIMIT :limit"""
        ),
        {"tenant_id": tenant_id, "slug": slug, "state": state, "kind": kind, "limit": limit},
    )
    return [AlertRow(**r._asdict()) for r in rows]


async def change_state(
    conn: AsyncConnection | AsyncSession, alert_id: int, to: str, now: datetime, actor: str
) -> AlertRow | None:
    """Move an alert to `to` (acknowledged, resolved) unless it is resolved already; the
    alert as it is after, None when there is no such alert."""
    await conn.execute(
        text("""
UPDATE alert SET state = :to,
    acknowledged_at = CASE WHEN :to = 'acknowledged' THEN :now ELSE acknowledged_at END,
    resolved_at = CASE WHEN :to = 'resolved' THEN :now ELSE resolved_at END,
    resolved_by = CASE WHEN :to = 'resolved' THEN :actor ELSE resolved_by END,
    ended_at = CASE WHEN :to = 'resolved' THEN coalesce(ended_at, :now) ELSE ended_at END
WHERE id = :id AND state <> 'resolved' AND NOT (state = 'acknowledged' AND :to = 'acknowledged')
"""),
        {"id": alert_id, "to": to, "now": now, "actor": actor},
    )
    row = (await conn.execute(text(_ALERT + " WHERE a.id = :id"), {"id": alert_id})).first()
    return None if row is None else AlertRow(**row._asdict())


async def set_sensitivity(conn: AsyncConnection | AsyncSession, slug: str, value: float) -> bool:
    """Set a partner's sensitivity; False when no partner has `slug`."""
    result = await conn.execute(
        text("""
INSERT INTO anomaly_setting (tenant_id, sensitivity)
SELECT id, :value FROM tenant WHERE slug = :slug
ON CONFLICT (tenant_id) DO UPDATE SET sensitivity = excluded.sensitivity
RETURNING tenant_id"""),
        {"slug": slug, "value": value},
    )
    return result.first() is not None
