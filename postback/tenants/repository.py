"""All SQL of the tenants domain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import Row, exists, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from postback.conversions.models import Conversion
from postback.tenants.models import Tenant

TenantRow = Row[Tenant, int, datetime | None]


async def slug_taken(session: AsyncSession, slug: str, *, other_than: int | None = None) -> bool:
    query = exists().where(Tenant.slug == slug)
    if other_than is not None:
        query = query.where(Tenant.id != other_than)
    return bool(await session.scalar(select(query)))


async def token_taken(
    session: AsyncSession, kind: str, digest: str, *, other_than: int | None = None
) -> bool:
    column = getattr(Tenant, f"{kind}_hash")
    query = exists().where(column == digest)
    if other_than is not None:
        query = query.where(Tenant.id != other_than)
    return bool(await session.scalar(select(query)))


async def list_tenants(session: AsyncSession) -> Sequence[Tenant]:
    return (await session.scalars(select(Tenant).order_by(Tenant.id))).all()


async def get_tenant(session: AsyncSession, tenant_id: int) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def id_by_slug(session: AsyncSession, slug: str) -> int | None:
    return (await session.execute(select(Tenant.id).where(Tenant.slug == slug))).scalar()


async def zone_and_slug(session: AsyncSession, tenant_id: int) -> tuple[str | None, str] | None:
    """A tenant's own timezone (None: the service's) and its slug; None if there is no such."""
    query = select(Tenant.timezone, Tenant.slug).where(Tenant.id == tenant_id)
    row = (await session.execute(query)).first()
    return None if row is None else (row.timezone, row.slug)


async def lock_tenant(session: AsyncSession, tenant_id: int) -> Tenant | None:
    """The tenant, locked until the transaction ends, so concurrent changes queue up."""
    query = select(Tenant).where(Tenant.id == tenant_id).with_for_update()
    return (await session.scalars(query)).one_or_none()


def _activity_columns(default_zone: str) -> list[Any]:
    """Today's distinct conversions (in the tenant's timezone) and the last arrival.

    Correlated per tenant so each uses the (tenant_id, occurred_at / received_at) indexes
    instead of scanning every conversion.
    """
    zone = func.coalesce(Tenant.timezone, literal(default_zone))
    local_midnight = func.date_trunc("day", func.timezone(zone, func.now()))
    day_start = func.timezone(zone, local_midnight)
    day_end = func.timezone(zone, local_midnight + text("interval '1 day'"))
    today = (
        select(func.count())
        .where(
            Conversion.tenant_id == Tenant.id,
            Conversion.is_duplicate.is_(False),
            Conversion.occurred_at >= day_start,
            Conversion.occurred_at < day_end,
        )
        .scalar_subquery()
    )
    last = (
        select(func.max(Conversion.received_at))
        .where(Conversion.tenant_id == Tenant.id)
        .scalar_subquery()
    )
    return [today.label("conversions_today"), last.label("last_postback_at")]


async def list_with_activity(
    session: AsyncSession, default_zone: str, tenant_id: int | None = None
) -> Sequence[TenantRow]:
    query = (
        select(Tenant, *_activity_columns(default_zone))
        .order_by(Tenant.id)
        .execution_options(populate_existing=True)
    )
    if tenant_id is not None:
        query = query.where(Tenant.id == tenant_id)
    rows: Sequence[TenantRow] = (await session.execute(query)).all()
    return rows


DIRECTORY_ROWS = (
    "SELECT id, slug, timezone, dedup_enabled, enabled, rate_limit_per_minute, "
    "is_default, ts_token_hash, ts_param_hash, tlm_token_hash, day_first_dates, "
    "decimal_comma FROM tenant"
)


async def directory_rows(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    """Every tenant with what the postback path needs to resolve it (asyncpg: the hot path)."""
    async with pool.acquire() as conn:
        rows: list[asyncpg.Record] = await conn.fetch(DIRECTORY_ROWS)
    return rows


async def directory_row(conn: asyncpg.Connection, slug: str) -> asyncpg.Record | None:
    """One tenant's directory row, by slug."""
    row: asyncpg.Record | None = await conn.fetchrow(f"{DIRECTORY_ROWS} WHERE slug = $1", slug)
    return row


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """A partner as its API key identifies it (postback/auth.py)."""

    id: int
    name: str
    enabled: bool
    api_key_hash: str | None


def _key_holders() -> Any:
    return select(Tenant.id, Tenant.name, Tenant.enabled, Tenant.api_key_hash)


async def key_holder_by_key_hash(
    conn: AsyncConnection | AsyncSession, digest: str
) -> KeyHolder | None:
    row = (await conn.execute(_key_holders().where(Tenant.api_key_hash == digest))).first()
    return None if row is None else KeyHolder(row.id, row.name, row.enabled, row.api_key_hash)


async def key_holder_by_id(
    conn: AsyncConnection | AsyncSession, tenant_id: int
) -> KeyHolder | None:
    row = (await conn.execute(_key_holders().where(Tenant.id == tenant_id))).first()
    return None if row is None else KeyHolder(row.id, row.name, row.enabled, row.api_key_hash)
