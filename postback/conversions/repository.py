"""All SQL for reading conversions and their statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postback.conversions.models import Conversion, Rejection
from postback.conversions.schemas import DuplicateFilter
from postback.tenants.models import Tenant

AnyRow = Row[*tuple[Any, ...]]
Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True, slots=True)
class ConversionFilter:
    tenant_id: int | None = None
    offer_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    duplicates: DuplicateFilter = DuplicateFilter.include

    def apply(self, query: Query) -> Query:
        if self.tenant_id is not None:
            query = query.where(Conversion.tenant_id == self.tenant_id)
        if self.offer_id is not None:
            query = query.where(Conversion.offer_id == self.offer_id)
        if self.status is not None:
            query = query.where(Conversion.status == self.status)
        if self.since is not None:
            query = query.where(Conversion.occurred_at >= self.since)
        if self.until is not None:
            query = query.where(Conversion.occurred_at < self.until)
        if self.duplicates is DuplicateFilter.exclude:
            query = query.where(Conversion.is_duplicate.is_(False))
        elif self.duplicates is DuplicateFilter.only:
            query = query.where(Conversion.is_duplicate.is_(True))
        return query


async def list_conversions(
    session: AsyncSession, where: ConversionFilter, *, offset: int, limit: int
) -> Sequence[AnyRow]:
    query = (
        select(Conversion, Tenant.slug)
        .join(Tenant, Tenant.id == Conversion.tenant_id)
        .order_by(Conversion.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return (await session.execute(where.apply(query))).all()


async def count_conversions(session: AsyncSession, where: ConversionFilter) -> int:
    query = where.apply(select(func.count()).select_from(Conversion))
    return int((await session.execute(query)).scalar_one())


async def get_conversion(
    session: AsyncSession, conversion_pk: int, tenant_id: int | None
) -> AnyRow | None:
    query = (
        select(Conversion, Tenant.slug)
        .join(Tenant, Tenant.id == Conversion.tenant_id)
        .where(Conversion.id == conversion_pk)
    )
    if tenant_id is not None:
        query = query.where(Conversion.tenant_id == tenant_id)
    return (await session.execute(query)).first()


async def count_rejections(
    session: AsyncSession, tenant_id: int | None, since: datetime, until: datetime
) -> int:
    query = (
        select(func.count())
        .select_from(Rejection)
        .where(Rejection.received_at >= since, Rejection.received_at < until)
    )
    if tenant_id is not None:
        query = query.where(Rejection.tenant_id == tenant_id)
    return int((await session.execute(query)).scalar_one())


async def tenant_id_by_slug(session: AsyncSession, slug: str) -> int | None:
    result = await session.execute(select(Tenant.id).where(Tenant.slug == slug))
    return result.scalar_one_or_none()
