"""The dashboard's figures: ranges in the reporting timezone, KPIs against the previous
period, series, breakdowns and the partner table, all read from the rollups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from postback.auth import Principal
from postback.conversions import repository as conversions
from postback.conversions.schemas import money_text
from postback.conversions.service import scope_tenant
from postback.dashboard import repository
from postback.dashboard.schemas import (
    CurrencyRow,
    Grain,
    Kpi,
    KpisOut,
    OfferRow,
    PartnerRow,
    RangeName,
    RangeOut,
    SeriesOut,
    SeriesPoint,
    StatusRow,
    TableOut,
)
from postback.errors import Forbidden, InvalidInput
from postback.rollups import repository as rollups
from postback.rollups.repository import Window

MAX_DAYS = 366
HOURLY_UP_TO_DAYS = 2
TOP_OFFERS = 10
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Scope:
    """Who looks at what: the tenant (None: all), the range and its previous period."""

    tenant_id: int | None
    slug: str | None
    name: RangeName
    first_day: date
    last_day: date
    start: datetime
    end: datetime
    full_end: datetime
    previous_start: datetime
    previous_end: datetime
    zone: ZoneInfo

    @property
    def grain(self) -> Grain:
        days = (self.last_day - self.first_day).days + 1
        return "hour" if days <= HOURLY_UP_TO_DAYS else "day"

    @property
    def window(self) -> Window:
        return Window.of(self.tenant_id, self.start, self.end, self.zone)

    @property
    def previous_window(self) -> Window:
        return Window.of(self.tenant_id, self.previous_start, self.previous_end, self.zone)

    def out(self) -> RangeOut:
        return RangeOut(
            name=self.name,
            first_day=self.first_day,
            last_day=self.last_day,
            since=self.start,
            until=self.end,
            previous_since=self.previous_start,
            previous_until=self.previous_end,
            timezone=self.zone.key,
            grain=self.grain,
            tenant=self.slug,
        )


def _parse_day(value: str | None, field: str) -> date:
    if value is None or not value.strip():
        raise InvalidInput("is needed for a custom range (a date such as 2026-11-01)", field)
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"must be a date such as 2026-11-01, got {value[:40]!r}", field
        ) from None


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def days_of(
    name: RangeName, since: str | None, until: str | None, today: date
) -> tuple[date, date]:
    """First and last day (inclusive) of a named range, in the reporting timezone."""
    if name is RangeName.today:
        return today, today
    if name is RangeName.yesterday:
        return today - timedelta(days=1), today - timedelta(days=1)
    if name is RangeName.last_7_days:
        return today - timedelta(days=6), today
    if name is RangeName.last_30_days:
        return today - timedelta(days=29), today
    first, last = _parse_day(since, "since"), _parse_day(until, "until")
    if last < first:
        raise InvalidInput("must be on or after since", "until")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"a custom range may span at most {MAX_DAYS} days", "until")
    return first, last


async def resolve(
    session: AsyncSession,
    principal: Principal,
    *,
    name: RangeName,
    since: str | None,
    until: str | None,
    tenant: str | None,
    default_zone: ZoneInfo,
    now: datetime | None = None,
) -> Scope:
    tenant_id = await scope_tenant(session, principal, tenant)
    zone, slug = default_zone, None
    if tenant_id is not None:
        info = await repository.tenant_by_id(session, tenant_id)
        if info is not None:
            slug = info.slug
            zone = ZoneInfo(info.timezone) if info.timezone else default_zone
    now = (now or datetime.now(UTC)).astimezone(UTC)
    first, last = days_of(name, since, until, now.astimezone(zone).date())
    span = (last - first).days + 1
    start, full_end = _midnight(first, zone), _midnight(last + timedelta(days=1), zone)
    end = max(start, min(full_end, now))
    # The previous period: the same days `span` days earlier, cut at the same wall-clock time.
    previous_start = _midnight(first - timedelta(days=span), zone)
    if end < full_end:
        previous_end = (end.astimezone(zone) - timedelta(days=span)).astimezone(UTC)
    else:
        previous_end = _midnight(last + timedelta(days=1 - span), zone)
    return Scope(
        tenant_id,
        slug,
        name,
        first,
        last,
        start,
        end,
        full_end,
        previous_start,
        previous_end,
        zone,
    )


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    return Decimal(0) if not whole else (part * HUNDRED / whole).quantize(TENTH, ROUND_HALF_EVEN)


def _text(value: Decimal, kind: str) -> str:
    if kind == "money":
        return money_text(value)
    if kind == "percent":
        return format(value.quantize(TENTH, ROUND_HALF_EVEN), "f")
    return format(value, "f")


def _change(value: Decimal, previous: Decimal, kind: str) -> str | None:
    if kind == "percent":
        return format((value - previous).quantize(TENTH, ROUND_HALF_EVEN), "f")
    if not previous:
        return None
    return format(((value - previous) * HUNDRED / previous).quantize(TENTH, ROUND_HALF_EVEN), "f")


def kpi_values(total: Any, rejections: int) -> dict[str, tuple[str, Decimal]]:
    """Every KPI of one period: key -> (kind, exact value)."""
    conversions_ = Decimal(total.conversions)
    average = (
        (total.sales_usd / conversions_).quantize(CENT, ROUND_HALF_EVEN)
        if conversions_
        else Decimal(0)
    )
    postbacks = conversions_ + Decimal(total.duplicates)
    return {
        "conversions": ("count", conversions_),
        "sales_usd": ("money", Decimal(total.sales_usd)),
        "sales_myr": ("money", Decimal(total.sales_myr)),
        "payouts_usd": ("money", Decimal(total.payouts_usd)),
        "payouts_myr": ("money", Decimal(total.payouts_myr)),
        "average_order_usd": ("money", average),
        "approval_rate": ("percent", _ratio(Decimal(total.approved), conversions_)),
        "duplicate_rate": ("percent", _ratio(Decimal(total.duplicates), postbacks)),
        "rejections": ("count", Decimal(rejections)),
    }


async def kpis(session: AsyncSession, scope: Scope) -> KpisOut:
    (current,) = await rollups.grouped(session, scope.window)
    (previous,) = await rollups.grouped(session, scope.previous_window)
    now_values = kpi_values(
        current,
        await conversions.count_rejections(session, scope.tenant_id, scope.start, scope.end),
    )
    before = kpi_values(
        previous,
        await conversions.count_rejections(
            session, scope.tenant_id, scope.previous_start, scope.previous_end
        ),
    )
    items = []
    for key, (kind, value) in now_values.items():
        old = before[key][1]
        items.append(
            Kpi(
                key=key,
                kind=kind,
                value=_text(value, kind),
                previous=_text(old, kind),
                change=_change(value, old, kind),
            )
        )
    return KpisOut(range=scope.out(), kpis=items)


def _buckets(scope: Scope) -> list[datetime]:
    """Every hour or day of the range, as naive local times (the database's local keys)."""
    step = timedelta(hours=1) if scope.grain == "hour" else timedelta(days=1)
    moment = datetime.combine(scope.first_day, time())
    last = datetime.combine(scope.last_day + timedelta(days=1), time())
    buckets = []
    while moment < last:
        buckets.append(moment)
        moment += step
    return buckets


async def series(session: AsyncSession, scope: Scope) -> SeriesOut:
    key = "local_hour" if scope.grain == "hour" else "local_day"
    found = {row[0]: row for row in await rollups.grouped(session, scope.window, [key])}
    zero = Decimal(0)
    points = []
    for bucket in _buckets(scope):
        row = found.get(bucket)
        points.append(
            SeriesPoint(
                bucket=bucket.replace(tzinfo=scope.zone),
                conversions=row.conversions if row else 0,
                sales_usd=row.sales_usd if row else zero,
                payouts_usd=row.payouts_usd if row else zero,
                payouts_myr=row.payouts_myr if row else zero,
            )
        )
    return SeriesOut(range=scope.out(), points=points)


async def by_status(session: AsyncSession, scope: Scope) -> TableOut[StatusRow]:
    rows = await rollups.grouped(session, scope.window, ["status"], order="conversions DESC, 1")
    return TableOut[StatusRow](
        range=scope.out(), rows=[StatusRow.model_validate(r, from_attributes=True) for r in rows]
    )


async def by_currency(session: AsyncSession, scope: Scope) -> TableOut[CurrencyRow]:
    rows = await rollups.grouped(session, scope.window, ["currency"], order="conversions DESC, 1")
    return TableOut[CurrencyRow](
        range=scope.out(), rows=[CurrencyRow.model_validate(r, from_attributes=True) for r in rows]
    )


async def top_offers(session: AsyncSession, scope: Scope) -> TableOut[OfferRow]:
    rows = await rollups.grouped(
        session, scope.window, ["offer_id"], order="conversions DESC, 1", limit=TOP_OFFERS
    )
    return TableOut[OfferRow](
        range=scope.out(), rows=[OfferRow.model_validate(r, from_attributes=True) for r in rows]
    )


async def partners(
    session: AsyncSession, principal: Principal, scope: Scope
) -> TableOut[PartnerRow]:
    if not principal.sees_every_partner:
        raise Forbidden("the partner table is for the admin", "authorization")
    rows = await rollups.grouped(session, scope.window, ["tenant_id"], order="conversions DESC, 1")
    names = await repository.tenant_names(session)
    out = []
    for row in rows:
        slug, name = names.get(row.tenant_id, (str(row.tenant_id), ""))
        data = {k: getattr(row, k) for k in PartnerRow.model_fields if k not in ("slug", "name")}
        out.append(PartnerRow(slug=slug, name=name, **data))
    return TableOut[PartnerRow](range=scope.out(), rows=out)


def table_rows(models: Sequence[Any]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json") for m in models]
