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


def _money_sums() -> list[Any]:
    zero = 0
    return [
        func.coalesce(func.sum(Conversion.usd_sale_amount), zero).label("sales_usd"),
        func.coalesce(func.sum(Conversion.myr_sale_amount), zero).label("sales_myr"),
        func.coalesce(func.sum(Conversion.usd_payout), zero).label("payouts_usd"),
        func.coalesce(func.sum(Conversion.myr_payout), zero).label("payouts_myr"),
    ]


def _window(tenant_id: int | None, since: datetime, until: datetime) -> ConversionFilter:
    return ConversionFilter(
        tenant_id=tenant_id, since=since, until=until, duplicates=DuplicateFilter.exclude
    )


async def totals(
    session: AsyncSession, tenant_id: int | None, since: datetime, until: datetime
) -> AnyRow:
    firsts = _window(tenant_id, since, until).apply(
        select(func.count().label("conversions"), *_money_sums()).select_from(Conversion)
    )
    return (await session.execute(firsts)).one()


async def count_duplicates(
    session: AsyncSession, tenant_id: int | None, since: datetime, until: datetime
) -> int:
    where = ConversionFilter(
        tenant_id=tenant_id, since=since, until=until, duplicates=DuplicateFilter.only
    )
    return await count_conversions(session, where)


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


async def by_status(
    session: AsyncSession, tenant_id: int | None, since: datetime, until: datetime
) -> Sequence[AnyRow]:
    sums = _money_sums()
    query = _window(tenant_id, since, until).apply(
        select(Conversion.status, func.count().label("conversions"), sums[0], sums[2])
        .group_by(Conversion.status)
        .order_by(func.count().desc(), Conversion.status)
    )
    return (await session.execute(query)).all()


async def by_offer(
    session: AsyncSession, tenant_id: int | None, since: datetime, until: datetime, limit: int
) -> Sequence[AnyRow]:
    query = _window(tenant_id, since, until).apply(
        select(
            Conversion.offer_id,
            func.max(Conversion.offer_name).label("offer_name"),
            func.count().label("conversions"),
            *_money_sums(),
        )
        .group_by(Conversion.offer_id)
        .order_by(func.count().desc(), Conversion.offer_id)
        .limit(limit)
    )
    return (await session.execute(query)).all()


async def by_hour(
    session: AsyncSession, tenant_id: int | None, since: datetime, until: datetime, zone: str
) -> Sequence[AnyRow]:
    local_hour = func.date_trunc("hour", func.timezone(zone, Conversion.occurred_at))
    sums = _money_sums()
    query = _window(tenant_id, since, until).apply(
        select(local_hour.label("hour"), func.count().label("conversions"), sums[0], sums[2])
        .group_by(local_hour)
        .order_by(local_hour)
    )
    return (await session.execute(query)).all()


async def tenant_id_by_slug(session: AsyncSession, slug: str) -> int | None:
    result = await session.execute(select(Tenant.id).where(Tenant.slug == slug))
    return result.scalar_one_or_none()
