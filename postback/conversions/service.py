"""Reading conversions and their statistics, always within what the caller may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from postback.auth import Principal
from postback.conversions import repository
from postback.conversions.models import Conversion
from postback.conversions.repository import ConversionFilter
from postback.conversions.schemas import (
    ConversionHistory,
    ConversionOut,
    ConversionPage,
    ConversionQuery,
    HistoryEntry,
    HourStats,
    OfferStats,
    Stats,
    StatusStats,
    Totals,
)
from postback.errors import InvalidInput, NotFound
from postback.ingest import fields
from postback.rollups import repository as rollups
from postback.rollups.repository import Window
from postback.tenants import repository as tenants_repository

MAX_STATS_HOURS = 24 * 366
TOP_OFFERS = 50
HISTORY_ROWS = 1000


def parse_moment(value: str | None, field: str, zone: ZoneInfo) -> datetime | None:
    """ISO 8601 with an offset, or a date / naive time read in the reporting timezone."""
    if value is None or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            "must be a date or time such as 2026-11-01 or 2026-11-01T08:00:00+08:00, "
            f"got {value[:40]!r}",
            field,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


async def scope_tenant(session: AsyncSession, principal: Principal, slug: str | None) -> int | None:
    """The tenant a query is limited to: the caller's own, or the one an admin asked for."""
    if not principal.sees_every_partner:
        return principal.tenant_id
    if slug is None:
        return None
    tenant_id = await repository.tenant_id_by_slug(session, slug)
    if tenant_id is None:
        raise NotFound(f"no partner with slug {slug!r}", "tenant")
    return tenant_id


def _out(row: Any) -> ConversionOut:
    conversion, slug = row
    return _conversion_out(conversion, slug)


def _conversion_out(conversion: Conversion, slug: str) -> ConversionOut:
    data = {c: getattr(conversion, c) for c in ConversionOut.model_fields if c != "tenant"}
    data["source_ip"] = _ip(conversion)
    return ConversionOut(tenant=slug, **data)


def _ip(conversion: Conversion) -> str | None:
    return str(conversion.source_ip) if conversion.source_ip is not None else None


async def list_conversions(
    session: AsyncSession, principal: Principal, query: ConversionQuery, zone: ZoneInfo
) -> ConversionPage:
    tenant_id = await scope_tenant(session, principal, query.tenant)
    # Naive times mean the same instants here as in the stats of the same tenant.
    zone, _ = await _reporting_scope(session, tenant_id, zone)
    where = ConversionFilter(
        tenant_id=tenant_id,
        offer_id=query.offer_id,
        status=query.status.lower() if query.status else None,
        since=parse_moment(query.since, "since", zone),
        until=parse_moment(query.until, "until", zone),
        duplicates=query.duplicates,
        exact=tuple(query.exact().items()),
        prefix=query.q,
        min_sale=query.min_sale,
        max_sale=query.max_sale,
        min_payout=query.min_payout,
        max_payout=query.max_payout,
    )
    page, page_size = query.page, query.page_size
    rows = await repository.list_conversions(
        session, where, offset=(page - 1) * page_size, limit=page_size
    )
    total = await repository.count_conversions(session, where)
    return ConversionPage(
        items=[_out(r) for r in rows], total=total, page=page, page_size=page_size
    )


async def get_conversion(session: AsyncSession, principal: Principal, pk: int) -> ConversionOut:
    row = await repository.get_conversion(session, pk, principal.tenant_id)
    if row is None:
        raise NotFound(f"no conversion with id {pk}", "id")
    return _out(row)


def _status_as_sent(row: Conversion) -> tuple[str, str | None]:
    """The status a row's own postback carried. A first row takes the newest status sent
    since (ingest/repository.py), so once moved, its own is read back from its payload."""
    if row.is_duplicate or row.status_updated_at is None:
        return row.status, row.status_raw
    if row.raw is None:  # the retention cleared the payload: what it carried is not known
        return fields.normalise_status(None), None
    sent = row.raw.get("status")
    if isinstance(sent, list):  # a repeated parameter: the last value counted
        sent = sent[-1] if sent else None
    try:
        text = fields.clean(sent)
    except ValueError:
        text = None
    return fields.normalise_status(text), text


async def history(session: AsyncSession, principal: Principal, pk: int) -> ConversionHistory:
    """The conversion a row belongs to: its first row and every postback of it in order."""
    found = await repository.get_conversion(session, pk, principal.tenant_id)
    if found is None:
        raise NotFound(f"no conversion with id {pk}", "id")
    chosen, slug = found
    rows = await repository.rows_of_conversion(
        session, chosen.tenant_id, chosen.conversion_id, HISTORY_ROWS
    )
    first = next((r for r in rows if not r.is_duplicate), rows[0])
    entries: list[HistoryEntry] = []
    current: str | None = None
    for row in rows:
        status, status_raw = _status_as_sent(row)
        # A postback without a status leaves the conversion's as it was (as the write does).
        changed = current is not None and status_raw is not None and status != current
        entries.append(
            HistoryEntry(
                id=row.id,
                received_at=row.received_at,
                is_duplicate=row.is_duplicate,
                status=status,
                status_raw=status_raw,
                status_changed=changed,
                previous_status=current if changed else None,
                source_ip=_ip(row),
                usd_sale_amount=row.usd_sale_amount,
                usd_payout=row.usd_payout,
                raw=row.raw,
            )
        )
        if current is None or status_raw is not None:
            current = status
    total = len(rows)
    if total == HISTORY_ROWS:
        total = await repository.count_rows_of_conversion(
            session, chosen.tenant_id, chosen.conversion_id
        )
    return ConversionHistory(
        conversion=_conversion_out(first, slug), entries=entries, total_entries=total
    )


async def display_zone(session: AsyncSession, tenant_id: int | None, default: ZoneInfo) -> str:
    """The timezone a page shows times in: the partner's, or the reporting timezone."""
    zone, _ = await _reporting_scope(session, tenant_id, default)
    return zone.key


async def tenant_of(session: AsyncSession, history: ConversionHistory) -> int | None:
    return await repository.tenant_id_by_slug(session, history.conversion.tenant)


async def _reporting_scope(
    session: AsyncSession, tenant_id: int | None, default: ZoneInfo
) -> tuple[ZoneInfo, str | None]:
    """The reporting timezone and slug of the tenant a query covers (None: every tenant)."""
    if tenant_id is None:
        return default, None
    found = await tenants_repository.zone_and_slug(session, tenant_id)
    if found is None:
        return default, None
    zone, slug = found
    return (ZoneInfo(zone) if zone else default), slug


async def stats(
    session: AsyncSession,
    principal: Principal,
    *,
    tenant: str | None,
    hours: int | None,
    since: str | None,
    until: str | None,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> Stats:
    tenant_id = await scope_tenant(session, principal, tenant)
    zone, slug = await _reporting_scope(session, tenant_id, zone)
    end = parse_moment(until, "until", zone) or (now or datetime.now(UTC))
    start = parse_moment(since, "since", zone)
    if start is None:
        start = end - timedelta(hours=hours or 24)
    elif hours is not None:
        raise InvalidInput("give either hours or since/until, not both", "hours")
    if start >= end:
        raise InvalidInput("must be before until", "since")
    if end - start > timedelta(hours=MAX_STATS_HOURS):
        raise InvalidInput(f"the range may span at most {MAX_STATS_HOURS} hours", "since")

    window = Window.of(tenant_id, start, end, zone)
    (total,) = await rollups.grouped(session, window)
    return Stats(
        since=start,
        until=end,
        timezone=zone.key,
        tenant=slug,
        totals=Totals(
            conversions=total.conversions,
            duplicates=total.duplicates,
            rejections=await repository.count_rejections(session, tenant_id, start, end),
            sales_usd=total.sales_usd,
            sales_myr=total.sales_myr,
            payouts_usd=total.payouts_usd,
            payouts_myr=total.payouts_myr,
        ),
        by_status=[
            StatusStats(
                status=r.status,
                conversions=r.conversions,
                sales_usd=r.sales_usd,
                payouts_usd=r.payouts_usd,
            )
            for r in await rollups.grouped(
                session, window, ["status"], order="conversions DESC, status"
            )
        ],
        by_offer=[
            OfferStats(
                offer_id=r.offer_id,
                offer_name=r.offer_name,
                conversions=r.conversions,
                sales_usd=r.sales_usd,
                sales_myr=r.sales_myr,
                payouts_usd=r.payouts_usd,
                payouts_myr=r.payouts_myr,
            )
            for r in await rollups.grouped(
                session, window, ["offer_id"], order="conversions DESC, offer_id", limit=TOP_OFFERS
            )
        ],
        by_hour=[
            HourStats(
                hour=r.local_hour.replace(tzinfo=zone),
                conversions=r.conversions,
                sales_usd=r.sales_usd,
                payouts_usd=r.payouts_usd,
            )
            for r in await rollups.grouped(session, window, ["local_hour"])
        ],
    )
