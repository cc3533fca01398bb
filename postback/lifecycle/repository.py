"""All SQL of the lifecycle domain: retention deletes and their dry-run counts.

Every delete is one statement removing at most `limit` rows, oldest first, so that on an
autocommit connection each batch is its own short transaction holding few row locks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from postback.conversions.models import Conversion, Rejection
from postback.tenants.models import Tenant


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


def _old_conversions(tenant_id: int, cutoff: datetime) -> ColumnElement[bool]:
    return and_(Conversion.tenant_id == tenant_id, Conversion.received_at < cutoff)


def _old_rejections(tenant_id: int | None, cutoff: datetime) -> ColumnElement[bool]:
    """`tenant_id` None means the rejections that belong to no tenant."""
    owner = Rejection.tenant_id.is_(None) if tenant_id is None else Rejection.tenant_id == tenant_id
    return and_(owner, Rejection.received_at < cutoff)


async def delete_conversions(
    conn: AsyncConnection, tenant_id: int, cutoff: datetime, limit: int
) -> int:
    batch = (
        select(Conversion.id)
        .where(_old_conversions(tenant_id, cutoff))
        .order_by(Conversion.received_at)
        .limit(limit)
    )
    result = await conn.execute(delete(Conversion).where(Conversion.id.in_(batch)))
    return result.rowcount


async def delete_rejections(
    conn: AsyncConnection, tenant_id: int | None, cutoff: datetime, limit: int
) -> int:
    batch = (
        select(Rejection.id)
        .where(_old_rejections(tenant_id, cutoff))
        .order_by(Rejection.received_at)
        .limit(limit)
    )
    result = await conn.execute(delete(Rejection).where(Rejection.id.in_(batch)))
    return result.rowcount


async def count_conversions(conn: AsyncConnection, tenant_id: int, cutoff: datetime) -> int:
    query = select(func.count()).select_from(Conversion).where(_old_conversions(tenant_id, cutoff))
    return int((await conn.execute(query)).scalar_one())


async def count_rejections(conn: AsyncConnection, tenant_id: int | None, cutoff: datetime) -> int:
    query = select(func.count()).select_from(Rejection).where(_old_rejections(tenant_id, cutoff))
    return int((await conn.execute(query)).scalar_one())
