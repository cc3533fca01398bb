"""Reading conversions: list, one, stats. Admin token or a partner's API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from postback.auth import Auth
from postback.conversions import service
from postback.conversions.schemas import ConversionOut, ConversionPage, DuplicateFilter, Stats
from postback.deps import AppSettings, Session
from postback.tenants.schemas import NO_NUL

router = APIRouter(prefix="/postback", tags=["conversions"])


def text_filter(description: str | None = None) -> object:
    """A text query parameter; NUL is refused here (422), PostgreSQL text cannot hold it."""
    return Query(description=description, pattern=NO_NUL)


PartnerSlug = Annotated[str | None, text_filter("Partner slug (admin only)")]
Since = Annotated[str | None, text_filter("Conversion time from (inclusive)")]
Until = Annotated[str | None, text_filter("Conversion time until (exclusive)")]


@router.get("/conversions", response_model=ConversionPage)
async def list_conversions(
    session: Session,
    principal: Auth,
    settings: AppSettings,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 50,
    tenant: PartnerSlug = None,
    offer_id: Annotated[str | None, text_filter()] = None,
    status: Annotated[str | None, text_filter("approved, pending, rejected, …")] = None,
    since: Since = None,
    until: Until = None,
    duplicates: DuplicateFilter = DuplicateFilter.include,
) -> ConversionPage:
    """Conversions, newest first, with filters."""
    return await service.list_conversions(
        session,
        principal,
        tenant=tenant,
        offer_id=offer_id,
        status=status,
        since=since,
        until=until,
        duplicates=duplicates,
        page=page,
        page_size=page_size,
        zone=settings.zone,
    )


@router.get("/conversions/{conversion_pk}", response_model=ConversionOut)
async def get_conversion(
    conversion_pk: Annotated[int, Path(ge=1, le=2**63 - 1)], session: Session, principal: Auth
) -> ConversionOut:
    """One conversion by its id."""
    return await service.get_conversion(session, principal, conversion_pk)


@router.get("/stats", response_model=Stats)
async def stats(
    session: Session,
    principal: Auth,
    settings: AppSettings,
    hours: Annotated[int | None, Query(ge=1, le=service.MAX_STATS_HOURS)] = None,
    since: Since = None,
    until: Until = None,
    tenant: PartnerSlug = None,
) -> Stats:
    """Totals, by status, by offer and by hour for the last `hours` (24) or since/until."""
    return await service.stats(
        session,
        principal,
        tenant=tenant,
        hours=hours,
        since=since,
        until=until,
        zone=settings.zone,
    )
