"""All SQL of the lifecycle domain: the retention's deletes and clears, and their dry-run counts.

Every change is one statement touching at most `limit` rows, oldest first, so that on an
autocommit connection each batch is its own short transaction holding few row locks. Each kind
of row has one `Scope` (which rows, in what order), shared by its count and its change, so a
dry run counts exactly the rows a real run then takes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, null, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from postback.conversions.models import Conversion, Rejection
from postback.forwarding.models import Delivery
from postback.tenants.models import Tenant

# While `on` in a session, the rollup triggers on UPDATE and DELETE of `conversion` do not
# fire there (migration 0012): the retention's changes leave every rollup count as it was.
KEEP_ROLLUPS = "postback.keep_rollups"
# Delivery states after which nothing more happens to a delivery (forwarding/models.py).
FINISHED_DELIVERIES = ("delivered", "dead")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Retention:
    tenant_id: int
    slug: str
    retention_days: int
    is_default: bool


async def list_retentions(conn: AsyncConnection) -> Sequence[Retention]:
    query = select(Tenant.id, Tenant.slug, Tenant.retention_days, Tenant.is_default).order_by(
        Tenant.id
    )
    return [Retention(*row) for row in (await conn.execute(query)).all()]


@contextlib.asynccontextmanager
async def keeping_rollups(conn: AsyncConnection) -> AsyncIterator[None]:
    """For the block, changes made on `conn` leave the rollups alone. The setting is the
    session's (on an autocommit connection each statement is its own transaction), so it is
    reset after, or the connection is closed: a pooled connection must never keep it."""
    await conn.execute(select(func.set_config(KEEP_ROLLUPS, "on", False)))
    try:
        yield
    finally:
        reset = False
        with contextlib.suppress(Exception):
            await conn.execute(select(func.set_config(KEEP_ROLLUPS, "off", False)))
            reset = True
        if not reset:
            await conn.invalidate()


def _before(column: Any, cutoff: datetime, synced: datetime | None) -> Any:
    """`column` before `cutoff`, and (with a sync) received before what the sync has copied."""
    condition = column < cutoff
    return condition if synced is None else and_(condition, column < synced)


@dataclass(frozen=True, slots=True)
class Conversions:
    """Conversion rows of one tenant: `where`, taken oldest first by `order`."""

    where: ColumnElement[bool]
    order: Any  # a datetime column

    def batch(self, limit: int) -> Any:
        return select(Conversion.id).where(self.where).order_by(self.order).limit(limit)

    async def count(self, conn: AsyncConnection) -> int:
        query = select(func.count()).select_from(Conversion).where(self.where)
        return int((await conn.execute(query)).scalar_one())

    async def delete(self, conn: AsyncConnection, limit: int) -> int:
        result = await conn.execute(delete(Conversion).where(Conversion.id.in_(self.batch(limit))))
        return int(result.rowcount)

    async def clear_payloads(self, conn: AsyncConnection, limit: int) -> int:
        statement = (
            update(Conversion)
            .where(Conversion.id.in_(self.batch(limit)))
            .values(raw=null())  # SQL NULL, not the JSON null
            .execution_options(synchronize_session=False)
        )
        return int((await conn.execute(statement)).rowcount)


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """A tenant's round: detail received before `detail`, conversions that occurred before
    `history`, and (with a sync) only rows received before `synced`."""

    tenant_id: int
    detail: datetime
    history: datetime
    synced: datetime | None


def _detail(cutoffs: Cutoffs) -> Any:
    # `raw IS NOT NULL` keeps the search inside the partial index of rows still holding
    # detail (ix_conversion_detail): a duplicate always holds its payload. Rows past the
    # history horizon are the history's to delete, so a dry run counts none of them twice.
    return and_(
        Conversion.tenant_id == cutoffs.tenant_id,
        Conversion.raw.is_not(None),
        _before(Conversion.received_at, cutoffs.detail, cutoffs.synced),
        Conversion.occurred_at >= cutoffs.history,
    )


def duplicates(cutoffs: Cutoffs) -> Conversions:
    """Duplicate rows received before the detail cutoff: deleted."""
    return Conversions(and_(_detail(cutoffs), Conversion.is_duplicate), Conversion.received_at)


def payloads(cutoffs: Cutoffs) -> Conversions:
    """First rows received before the detail cutoff that still hold their payload: cleared."""
    where = and_(_detail(cutoffs), Conversion.is_duplicate.is_(False))
    return Conversions(where, Conversion.received_at)


def history(cutoffs: Cutoffs) -> Conversions:
    """Every row of a conversion that occurred before the history cutoff: deleted."""
    where = and_(
        Conversion.tenant_id == cutoffs.tenant_id, Conversion.occurred_at < cutoffs.history
    )
    if cutoffs.synced is not None:
        where = and_(where, Conversion.received_at < cutoffs.synced)
    return Conversions(where, Conversion.occurred_at)


def _rejections(tenant_id: int | None, cutoff: datetime, synced: datetime | None) -> Any:
    """`tenant_id` None means the rejections that belong to no tenant."""
    owner = Rejection.tenant_id.is_(None) if tenant_id is None else Rejection.tenant_id == tenant_id
    return and_(owner, _before(Rejection.received_at, cutoff, synced))


async def count_rejections(
    conn: AsyncConnection, tenant_id: int | None, cutoff: datetime, synced: datetime | None
) -> int:
    query = (
        select(func.count()).select_from(Rejection).where(_rejections(tenant_id, cutoff, synced))
    )
    return int((await conn.execute(query)).scalar_one())


async def delete_rejections(
    conn: AsyncConnection,
    tenant_id: int | None,
    cutoff: datetime,
    synced: datetime | None,
    limit: int,
) -> int:
    batch = (
        select(Rejection.id)
        .where(_rejections(tenant_id, cutoff, synced))
        .order_by(Rejection.received_at)
        .limit(limit)
    )
    result = await conn.execute(delete(Rejection).where(Rejection.id.in_(batch)))
    return int(result.rowcount)


def _deliveries(tenant_id: int, cutoff: datetime, synced: datetime | None) -> Any:
    return and_(
        Delivery.tenant_id == tenant_id,
        Delivery.state.in_(FINISHED_DELIVERIES),
        _before(Delivery.created_at, cutoff, synced),
    )


async def count_deliveries(
    conn: AsyncConnection, tenant_id: int, cutoff: datetime, synced: datetime | None
) -> int:
    query = select(func.count()).select_from(Delivery).where(_deliveries(tenant_id, cutoff, synced))
    return int((await conn.execute(query)).scalar_one())


async def delete_deliveries(
    conn: AsyncConnection, tenant_id: int, cutoff: datetime, synced: datetime | None, limit: int
) -> int:
    """Finished deliveries made before `cutoff`; their attempts go with them (ON DELETE CASCADE)."""
    batch = (
        select(Delivery.id)
        .where(_deliveries(tenant_id, cutoff, synced))
        .order_by(Delivery.id)
        .limit(limit)
    )
    result = await conn.execute(delete(Delivery).where(Delivery.id.in_(batch)))
    return int(result.rowcount)


# (The f-strings below only join these constant names and conditions.)
# Rollup rows of one tenant whose whole hour (or whole day, for day cells) ended before the
# history cutoff: the folded hours, the days of every built zone and the deltas not folded yet.
_ROLLUP_TABLES = {
    "conversion_hourly": "hour <= :hour_cutoff",
    "conversion_daily": "day <= :day_cutoff",
    "conversion_hourly_delta": "hour <= :hour_cutoff",
}


def _rollup_params(tenant_id: int, cutoff: datetime) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "hour_cutoff": cutoff - HOUR, "day_cutoff": cutoff - DAY}


async def count_rollups(conn: AsyncConnection, tenant_id: int, cutoff: datetime) -> int:
    counts = " + ".join(
        f"(SELECT count(*) FROM {table} WHERE tenant_id = :tenant_id AND {old})"  # noqa: S608
        for table, old in _ROLLUP_TABLES.items()
    )
    params = _rollup_params(tenant_id, cutoff)
    return int((await conn.execute(text(f"SELECT {counts}"), params)).scalar_one())


async def delete_rollups(conn: AsyncConnection, tenant_id: int, cutoff: datetime) -> int:
    """Delete the tenant's rollup rows older than `cutoff`; the caller holds the compaction's
    lock, so no fold of those hours' deltas is halfway while they go."""
    deleted = 0
    params = _rollup_params(tenant_id, cutoff)
    for table, old in _ROLLUP_TABLES.items():
        sql = f"DELETE FROM {table} WHERE tenant_id = :tenant_id AND {old}"  # noqa: S608
        deleted += int((await conn.execute(text(sql), params)).rowcount)
    return deleted
