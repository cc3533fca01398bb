"""All SQL of forwarding: forwards for the management API, and the delivery queue.

Deliveries are queued by the write statement (postback/ingest/repository.py). A worker claims
due ones with FOR UPDATE SKIP LOCKED and leases them by moving `next_attempt_at` past the
attempt's timeout, so the lock is held only for the claim; an instance that dies mid-send
leaves the lease to run out and another instance tries again (at least once). Each result is
written only if the delivery still holds the attempt number this worker claimed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
from sqlalchemy import Select, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from postback.conversions.models import Conversion
from postback.forwarding.models import Delivery, DeliveryAttempt, Forward
from postback.forwarding.sender import AttemptResult

CONVERSION_COLUMNS = (
    "conversion_id, order_id, offer_id, offer_name, status_raw, aff_sub, aff_sub2, aff_sub3,"
    " aff_sub4, adv_sub, adv_sub2, adv_sub3, adv_sub4, adv_sub5, payout_local, usd_payout,"
    " myr_payout, sale_amount_local, usd_sale_amount, myr_sale_amount, datetime_conversion,"
    " datetime_conversion_updated, received_at, conversion_currency"
)

_CONVERSION = [c.strip() for c in CONVERSION_COLUMNS.split(",")]

CLAIM = f"""
WITH due AS (
    SELECT d.id FROM delivery d
    JOIN forward w ON w.id = d.forward_id AND w.enabled
    WHERE d.state = 'pending' AND d.next_attempt_at <= now()
    ORDER BY d.next_attempt_at
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
), claimed AS (
    UPDATE delivery d
    SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.forward_id, d.conversion_row_id, d.event, d.status, d.attempts,
        d.retry_base
)
SELECT c.id AS delivery_id, c.event, c.status AS event_status, c.attempts, c.retry_base,
    w.url, w.method, w.payout_percent, w.signing_secret, t.slug AS tenant, t.timezone,
    v.id IS NOT NULL AS found, {", ".join("v." + c for c in _CONVERSION)}
FROM claimed c
JOIN forward w ON w.id = c.forward_id
JOIN tenant t ON t.id = w.tenant_id
LEFT JOIN conversion v ON v.id = c.conversion_row_id
ORDER BY c.id
"""

# The results of many attempts in one statement ($1: a JSON array). Each attempt is kept; a
# delivery changes only while it still holds the attempt this worker claimed (its lease did
# not run out and another instance did not take it meanwhile). A forward's run of dead
# deliveries grows with each one that dies and ends with any that is delivered.
RECORD = """
WITH result AS MATERIALIZED (
    SELECT * FROM json_to_recordset($1::json) AS (
        id int8, attempt int4, url text, started_at timestamptz, latency_ms float8,
        status_code int4, error text, excerpt text, outcome text, delay float8)
), attempt AS (
    INSERT INTO delivery_attempt (delivery_id, number, url, started_at, latency_ms, status_code,
                                  error, response_excerpt)
    SELECT id, attempt, url, started_at, latency_ms, status_code, error, excerpt FROM result
), changed AS (
    UPDATE delivery d SET
        state = CASE r.outcome WHEN 'retry' THEN 'pending' ELSE r.outcome END,
        delivered_at = CASE WHEN r.outcome = 'delivered' THEN now() END,
        next_attempt_at = CASE WHEN r.outcome = 'retry'
            THEN now() + make_interval(secs => r.delay) ELSE d.next_attempt_at END,
        last_status_code = r.status_code,
        last_error = r.error
    FROM result r
    WHERE d.id = r.id AND d.attempts = r.attempt AND d.state = 'pending'
    RETURNING d.forward_id, r.outcome
), runs AS (
    SELECT forward_id, count(*) FILTER (WHERE outcome = 'delivered') AS delivered,
        count(*) FILTER (WHERE outcome = 'dead') AS dead
    FROM changed GROUP BY forward_id
)
UPDATE forward w
SET dead_in_a_row = CASE WHEN r.delivered > 0 THEN 0 ELSE w.dead_in_a_row + r.dead END
FROM runs r
WHERE w.id = r.forward_id AND (r.dead > 0 OR (r.delivered > 0 AND w.dead_in_a_row <> 0))
"""

# Deliveries claimed but never attempted (the instance stopped first): due again at once.
RELEASE = """
UPDATE delivery d SET attempts = d.attempts - 1, next_attempt_at = now()
FROM unnest($1::int8[], $2::int4[]) AS r(id, attempt)
WHERE d.id = r.id AND d.attempts = r.attempt AND d.state = 'pending'
"""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery taken for one attempt, with its forward and the conversion's columns."""

    delivery_id: int
    event: str
    event_status: str
    attempt: int
    round_attempt: int  # the attempt's number since the delivery was (re)queued
    url: str
    method: str
    payout_percent: Decimal | None
    signing_secret: str | None
    tenant: str
    timezone: str | None
    conversion: dict[str, Any] | None  # None when retention removed the row


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt did: the attempt, and `delay` before the next (None: no next)."""

    claimed: Claimed
    result: AttemptResult
    delay: float | None

    @property
    def name(self) -> str:
        if self.result.ok:
            return "delivered"
        return "dead" if self.delay is None else "retry"


async def claim(conn: asyncpg.Connection, *, limit: int, lease: float) -> list[Claimed]:
    """Up to `limit` due deliveries of enabled forwards, leased for `lease` seconds."""
    rows = await conn.fetch(CLAIM, limit, lease)
    return [
        Claimed(
            delivery_id=r["delivery_id"],
            event=r["event"],
            event_status=r["event_status"],
            attempt=r["attempts"],
            round_attempt=r["attempts"] - r["retry_base"],
            url=r["url"],
            method=r["method"],
            payout_percent=r["payout_percent"],
            signing_secret=r["signing_secret"],
            tenant=r["tenant"],
            timezone=r["timezone"],
            conversion={c: r[c] for c in _CONVERSION} if r["found"] else None,
        )
        for r in rows
    ]


def _document(outcomes: Sequence[Outcome]) -> str:
    return orjson.dumps(
        [
            {
                "id": o.claimed.delivery_id,
                "attempt": o.claimed.attempt,
                "url": o.result.url,
                "started_at": o.result.started_at.isoformat(),
                "latency_ms": o.result.latency_ms,
                "status_code": o.result.status_code,
                "error": o.result.error,
                "excerpt": o.result.excerpt,
                "outcome": o.name,
                "delay": o.delay,
            }
            for o in outcomes
        ]
    ).decode()


async def record(conn: asyncpg.Connection, outcomes: Sequence[Outcome]) -> None:
    """Keep the attempts; each delivery delivered, due again after its delay, or dead."""
    if outcomes:
        await conn.execute(RECORD, _document(outcomes))


async def release(conn: asyncpg.Connection, claimed: Sequence[Claimed]) -> None:
    """Give back deliveries claimed and not attempted."""
    if claimed:
        await conn.execute(RELEASE, [c.delivery_id for c in claimed], [c.attempt for c in claimed])


async def queue_counts(conn: AsyncConnection) -> dict[str, int]:
    """Deliveries waiting (due now or later) and dead ones, from their partial indexes."""
    row = (
        await conn.execute(
            text(
                "SELECT (SELECT count(*) FROM delivery WHERE state = 'pending') AS pending,"
                " (SELECT count(*) FROM delivery WHERE state = 'pending'"
                "  AND next_attempt_at <= now()) AS due,"
                " (SELECT count(*) FROM delivery WHERE state = 'dead') AS dead"
            )
        )
    ).one()
    return {"pending": row.pending, "due": row.due, "dead": row.dead}


# Management (request sessions).


async def forwards_of(session: AsyncSession, tenant_id: int) -> Sequence[Forward]:
    query = select(Forward).where(Forward.tenant_id == tenant_id).order_by(Forward.id)
    return (await session.scalars(query)).all()


async def forward_of(session: AsyncSession, tenant_id: int, forward_id: int) -> Forward | None:
    query = select(Forward).where(Forward.tenant_id == tenant_id, Forward.id == forward_id)
    return (await session.scalars(query)).one_or_none()


async def delete_forward(session: AsyncSession, forward_id: int) -> None:
    await session.execute(delete(Forward).where(Forward.id == forward_id))


async def delivery_counts(
    session: AsyncSession, forward_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Per forward: its deliveries by state."""
    query = (
        select(Delivery.forward_id, Delivery.state, func.count())
        .where(Delivery.forward_id.in_(forward_ids))
        .group_by(Delivery.forward_id, Delivery.state)
    )
    found: dict[int, dict[str, int]] = {}
    for forward_id, state, count in await session.execute(query):
        found.setdefault(forward_id, {})[state] = count
    return found


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    delivery: Delivery
    conversion_id: str | None
    forward_url: str
    last_url: str | None
    last_attempt_at: datetime | None


def deliveries_query(
    tenant_id: int,
    *,
    forward_id: int | None,
    conversion_id: str | None,
    state: str | None,
    before_id: int | None,
) -> Select[Any]:
    last = (
        select(DeliveryAttempt.started_at, DeliveryAttempt.url)
        .where(DeliveryAttempt.delivery_id == Delivery.id)
        .order_by(DeliveryAttempt.number.desc())
        .limit(1)
        .lateral()
    )
    query = (
        select(Delivery, Conversion.conversion_id, Forward.url, last.c.url, last.c.started_at)
        .join(Forward, Forward.id == Delivery.forward_id)
        .outerjoin(Conversion, Conversion.id == Delivery.conversion_row_id)
        .outerjoin(last, text("true"))
        .where(Delivery.tenant_id == tenant_id)
        .order_by(Delivery.id.desc())
    )
    if forward_id is not None:
        query = query.where(Delivery.forward_id == forward_id)
    if conversion_id is not None:
        query = query.where(Conversion.conversion_id == conversion_id)
    if state is not None:
        query = query.where(Delivery.state == state)
    if before_id is not None:
        query = query.where(Delivery.id < before_id)
    return query


async def deliveries(session: AsyncSession, query: Select[Any], limit: int) -> list[DeliveryRow]:
    rows = await session.execute(query.limit(limit))
    return [DeliveryRow(*row) for row in rows]


async def delivery_of(
    session: AsyncSession, tenant_id: int, delivery_id: int
) -> DeliveryRow | None:
    query = deliveries_query(
        tenant_id, forward_id=None, conversion_id=None, state=None, before_id=None
    ).where(Delivery.id == delivery_id)
    found = await deliveries(session, query, 1)
    return found[0] if found else None


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[int]
) -> Sequence[DeliveryAttempt]:
    query = (
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.number)
    )
    return (await session.scalars(query)).all()


async def requeue_dead(session: AsyncSession, forward_id: int, delivery_id: int | None) -> int:
    """Dead deliveries of a forward (or one of them) due again at once, with a fresh schedule."""
    query = (
        update(Delivery)
        .where(Delivery.forward_id == forward_id, Delivery.state == "dead")
        .values(state="pending", retry_base=Delivery.attempts, next_attempt_at=func.now())
    )
    if delivery_id is not None:
        query = query.where(Delivery.id == delivery_id)
    result = await session.execute(query)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
