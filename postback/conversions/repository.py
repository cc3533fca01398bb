"""All SQL for reading conversions and their statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from postback.conversions.models import (
    SEARCH_FIELDS,
    SEARCH_KEY_LENGTH,
    Conversion,
    Rejection,
    search_key,
)
from postback.conversions.schemas import DuplicateFilter
from postback.tenants.models import Tenant

AnyRow = Row[*tuple[Any, ...]]
Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])
LAST_CHARACTER = 0x10FFFF
SURROGATES = range(0xD800, 0xE000)


def prefix_end(prefix: str) -> str | None:
    """The first text after every text that starts with `prefix`, in code point order (which
    is UTF-8's byte order, text_pattern_ops's): the prefix with its last character moved one
    on. None when there is no such text (the prefix is all U+10FFFF)."""
    stem = prefix.rstrip(chr(LAST_CHARACTER))
    if not stem:
        return None
    following = ord(stem[-1]) + 1
    if following in SURROGATES:
        following = SURROGATES.stop
    return stem[:-1] + chr(following)


def starts_with(field: str, prefix: str) -> ColumnElement[bool]:
    """`field` starts with `prefix`, as a range its search index answers (models.py)."""
    key: ColumnElement[str] = search_key(getattr(Conversion, field))
    condition: ColumnElement[bool] = key.op("~>=~", is_comparison=True)(prefix)
    end = prefix_end(prefix)
    if end is not None:
        condition = and_(condition, key.op("~<~", is_comparison=True)(end))
    return condition


def equals(field: str, value: str) -> ColumnElement[bool]:
    """`field` is `value`, through its search index (which may hold only the value's start)."""
    column: ColumnElement[str] = getattr(Conversion, field)
    key: ColumnElement[str] = search_key(column)
    if key is column:
        return column == value
    return and_(key == value[:SEARCH_KEY_LENGTH], column == value)


@dataclass(frozen=True, slots=True)
class ConversionFilter:
    tenant_id: int | None = None
    offer_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    duplicates: DuplicateFilter = DuplicateFilter.include
    exact: tuple[tuple[str, str], ...] = ()
    prefix: str | None = None
    min_sale: Decimal | None = None
    max_sale: Decimal | None = None
    min_payout: Decimal | None = None
    max_payout: Decimal | None = None

    @property
    def searches(self) -> bool:
        """Whether it looks identifiers up (through the search indexes)."""
        return bool(self.exact) or self.prefix is not None

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
        for field, value in self.exact:
            query = query.where(equals(field, value))
        if self.prefix is not None:
            query = query.where(or_(*(starts_with(f, self.prefix) for f in SEARCH_FIELDS)))
        return self._amounts(query)

    def _amounts(self, query: Query) -> Query:
        if self.min_sale is not None:
            query = query.where(Conversion.usd_sale_amount >= self.min_sale)
        if self.max_sale is not None:
            query = query.where(Conversion.usd_sale_amount <= self.max_sale)
        if self.min_payout is not None:
            query = query.where(Conversion.usd_payout >= self.min_payout)
        if self.max_payout is not None:
            query = query.where(Conversion.usd_payout <= self.max_payout)
        return query


async def list_conversions(
    session: AsyncSession, where: ConversionFilter, *, offset: int, limit: int
) -> Sequence[AnyRow]:
    newest_first = Conversion.id.desc()
    if where.searches:
        # Never by walking the id index backwards until 50 rows match: when the matches are
        # old rows (D1000… among 10 million) that walk reads most of the table, 27 s in
        # docs/benchmarks-search.md. An order no index holds makes PostgreSQL find the matches
        # through the search indexes and sort just those.
        newest_first = (Conversion.id + 0).desc()
    query = (
        select(Conversion, Tenant.slug)
        .join(Tenant, Tenant.id == Conversion.tenant_id)
        .order_by(newest_first)
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


async def rows_of_conversion(
    session: AsyncSession, tenant_id: int, conversion_id: str, limit: int
) -> Sequence[Conversion]:
    """Every row stored for one conversion of one partner, in arrival order (by the
    conversion_id search index)."""
    query = (
        select(Conversion)
        .where(Conversion.tenant_id == tenant_id, Conversion.conversion_id == conversion_id)
        .order_by(Conversion.id)
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


async def count_rows_of_conversion(
    session: AsyncSession, tenant_id: int, conversion_id: str
) -> int:
    query = (
        select(func.count())
        .select_from(Conversion)
        .where(Conversion.tenant_id == tenant_id, Conversion.conversion_id == conversion_id)
    )
    return int((await session.execute(query)).scalar_one())


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
