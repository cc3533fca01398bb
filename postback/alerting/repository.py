"""All SQL of alert channels and their notification queue.

Management reads and writes through the request's session; the delivery worker claims and
records through asyncpg connections of the job pool, like the forwarding worker (one
statement claims a batch, one keeps a batch of results). Notifications are queued by the
anomaly scan's alert upsert (postback/anomalies/repository.py), in the same statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = (
    "id, name, kind, url, secret, recipients, tenant_id, min_severity, language, enabled,"
    " created_at, updated_at"
)
EDITABLE = (
    "name",
    "url",
    "secret",
    "recipients",
    "tenant_id",
    "min_severity",
    "language",
    "enabled",
)


@dataclass(frozen=True, slots=True)
class ChannelRow:
    id: int
    name: str
    kind: str
    url: str | None
    secret: str | None
    recipients: list[str] | None
    tenant_id: int | None
    min_severity: str
    language: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    tenant: str | None = None


_SELECT = f"""
SELECT {", ".join("c." + c.strip() for c in COLUMNS.split(","))}, t.slug AS tenant
FROM alert_channel c LEFT JOIN tenant t ON t.id = c.tenant_id
"""


async def channels(session: AsyncSession) -> list[ChannelRow]:
    rows = await session.execute(text(_SELECT + " ORDER BY c.id"))
    return [ChannelRow(**r._asdict()) for r in rows]


async def channel(session: AsyncSession, channel_id: int) -> ChannelRow | None:
    row = (await session.execute(text(_SELECT + " WHERE c.id = :id"), {"id": channel_id})).first()
    return None if row is None else ChannelRow(**row._asdict())


async def insert(session: AsyncSession, values: dict[str, Any]) -> int:
    names = ["kind", *EDITABLE]
    row = (
        await session.execute(
            text(
                f"INSERT INTO alert_channel ({', '.join(names)})"
                f" VALUES ({', '.join(':' + n for n in names)}) RETURNING id"
            ),
            {n: values.get(n) for n in names},
        )
    ).one()
    return int(row.id)


async def update(session: AsyncSession, channel_id: int, changes: dict[str, Any]) -> None:
    names = [n for n in EDITABLE if n in changes]
    sets = ", ".join([f"{n} = :{n}" for n in names] + ["updated_at = now()"])
    await session.execute(
        text(f"UPDATE alert_channel SET {sets} WHERE id = :id"),
        {**{n: changes[n] for n in names}, "id": channel_id},
    )


async def delete(session: AsyncSession, channel_id: int) -> None:
    await session.execute(text("DELETE FROM alert_channel WHERE id = :id"), {"id": channel_id})


async def counts(session: AsyncSession) -> dict[int, dict[str, int]]:
    """Per channel: its notifications by state."""
    rows = await session.execute(
        text("SELECT channel_id, state, count(*) AS n FROM alert_notification GROUP BY 1, 2")
    )
    found: dict[int, dict[str, int]] = {}
    for r in rows:
        found.setdefault(r.channel_id, {})[r.state] = r.n
    return found


async def last_errors(session: AsyncSession) -> dict[int, str]:
    """Per channel: the error of its latest notification, when that one failed."""
    rows = await session.execute(
        text("""
SELECT DISTINCT ON (channel_id) channel_id, last_error FROM alert_notification
WHERE attempts > 0 ORDER BY channel_id, id DESC""")
    )
    return {r.channel_id: r.last_error for r in rows if r.last_error}


async def notifications(session: AsyncSession, channel_id: int, limit: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        text("""
SELECT id, channel_id, alert_id, event, state, attempts,
    CASE WHEN state = 'pending' THEN next_attempt_at END AS next_attempt_at,
    last_status_code, last_error, last_response, created_at, delivered_at
FROM alert_notification WHERE channel_id = :id ORDER BY id DESC LIMIT :limit"""),
        {"id": channel_id, "limit": limit},
    )
    return [r._asdict() for r in rows]


# The queue (asyncpg connections of the job pool).

ALERT_COLUMNS = (
    "a.id, t.slug AS tenant, t.name AS tenant_name, a.offer_id, a.kind, a.severity, a.state,"
    " a.started_at, a.last_seen_at, a.ended_at, a.observed, a.expected, a.message_en,"
    " a.message_zh, a.acknowledged_at, a.resolved_at"
)

CLAIM = f"""
WITH due AS (
    SELECT n.id FROM alert_notification n
    JOIN alert_channel c ON c.id = n.channel_id AND c.enabled
    WHERE n.state = 'pending' AND n.next_attempt_at <= now()
    ORDER BY n.next_attempt_at
    LIMIT $1
    FOR UPDATE OF n SKIP LOCKED
), claimed AS (
    UPDATE alert_notification n
    SET attempts = n.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
    FROM due WHERE n.id = due.id
    RETURNING n.id, n.channel_id, n.alert_id, n.event, n.attempts
)
SELECT n.id AS notification_id, n.event, n.attempts AS attempt,
    c.id AS channel_id, c.name AS channel_name, c.kind AS channel_kind, c.url, c.secret,
    c.recipients, c.language, coalesce(t.timezone, $3) AS timezone, {ALERT_COLUMNS}
FROM claimed n
JOIN alert_channel c ON c.id = n.channel_id
JOIN alert a ON a.id = n.alert_id
JOIN tenant t ON t.id = a.tenant_id
ORDER BY n.id
"""

RECORD = """
WITH result AS MATERIALIZED (
    SELECT * FROM json_to_recordset($1::json) AS (
        id int8, attempt int4, status_code int4, error text, excerpt text, outcome text,
        delay float8)
)
UPDATE alert_notification n SET
    state = CASE r.outcome WHEN 'retry' THEN 'pending' ELSE r.outcome END,
    delivered_at = CASE WHEN r.outcome = 'delivered' THEN now() END,
    next_attempt_at = CASE WHEN r.outcome = 'retry'
        THEN now() + make_interval(secs => r.delay) ELSE n.next_attempt_at END,
    last_status_code = r.status_code,
    last_error = r.error,
    last_response = r.excerpt
FROM result r
WHERE n.id = r.id AND n.attempts = r.attempt AND n.state = 'pending'
"""

RELEASE = """
UPDATE alert_notification n SET attempts = n.attempts - 1, next_attempt_at = now()
FROM unnest($1::int8[], $2::int4[]) AS r(id, attempt)
WHERE n.id = r.id AND n.attempts = r.attempt AND n.state = 'pending'
"""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A notification taken for one attempt: its channel, and the alert as the API shows it."""

    notification_id: int
    event: str
    attempt: int
    channel: dict[str, Any]
    alert: dict[str, Any]
    tenant_name: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Outcome:
    claimed: Claimed
    ok: bool
    status_code: int | None
    error: str | None
    excerpt: str | None
    delay: float | None  # before the next attempt; None: no next

    @property
    def name(self) -> str:
        if self.ok:
            return "delivered"
        return "dead" if self.delay is None else "retry"


_CHANNEL = ("channel_id", "channel_name", "channel_kind", "url", "secret", "recipients", "language")
_ALERT = (
    "id",
    "tenant",
    "offer_id",
    "kind",
    "severity",
    "state",
    "started_at",
    "last_seen_at",
    "ended_at",
    "observed",
    "expected",
    "message_en",
    "message_zh",
    "acknowledged_at",
    "resolved_at",
)


async def claim(conn: asyncpg.Connection, *, limit: int, lease: float, zone: str) -> list[Claimed]:
    rows = await conn.fetch(CLAIM, limit, lease, zone)
    return [
        Claimed(
            notification_id=r["notification_id"],
            event=r["event"],
            attempt=r["attempt"],
            channel={c: r[c] for c in _CHANNEL},
            alert={c: r[c] for c in _ALERT},
            tenant_name=r["tenant_name"],
            timezone=r["timezone"],
        )
        for r in rows
    ]


async def record(conn: asyncpg.Connection, outcomes: Sequence[Outcome]) -> None:
    if not outcomes:
        return
    document = orjson.dumps(
        [
            {
                "id": o.claimed.notification_id,
                "attempt": o.claimed.attempt,
                "status_code": o.status_code,
                "error": o.error,
                "excerpt": o.excerpt,
                "outcome": o.name,
                "delay": o.delay,
            }
            for o in outcomes
        ]
    ).decode()
    await conn.execute(RECORD, document)


async def release(conn: asyncpg.Connection, claimed: Sequence[Claimed]) -> None:
    if claimed:
        await conn.execute(
            RELEASE, [c.notification_id for c in claimed], [c.attempt for c in claimed]
        )
