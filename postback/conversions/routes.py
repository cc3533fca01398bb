"""Reading conversions: search, one, its history, stats. The admin token or a partner's API
key as a bearer token, or a signed-in browser session (postback/web/session.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from postback.auth import Auth
from postback.conversions import service
from postback.conversions.schemas import (
    NO_NUL,
    ConversionHistory,
    ConversionOut,
    ConversionPage,
    ConversionQuery,
    Stats,
)
from postback.deps import AppSettings, Session, SingleValues, StrictQuery

router = APIRouter(prefix="/postback", tags=["conversions"])


def text_filter(description: str | None = None) -> object:
    """A text query parameter; NUL is refused here (422), PostgreSQL text cannot hold it."""
    return Query(description=description, pattern=NO_NUL)


PartnerSlug = Annotated[str | None, text_filter("Partner slug (admin only)")]
Since = Annotated[str | None, text_filter("Conversion time from (inclusive)")]
Until = Annotated[str | None, text_filter("Conversion time until (exclusive)")]
ConversionPk = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/conversions", response_model=ConversionPage, dependencies=[SingleValues])
async def list_conversions(
    session: Session,
    principal: Auth,
    settings: AppSettings,
    query: Annotated[ConversionQuery, Query()],
) -> ConversionPage:
    """Conversions, newest first, with filters; an unknown filter is refused (422)."""
    return await service.list_conversions(session, principal, query, settings.zone)


@router.get("/conversions/{conversion_pk}", response_model=ConversionOut)
async def get_conversion(
    conversion_pk: ConversionPk, session: Session, principal: Auth
) -> ConversionOut:
    """One conversion by its id."""
    return await service.get_conversion(session, principal, conversion_pk)


@router.get("/conversions/{conversion_pk}/history", response_model=ConversionHistory)
async def conversion_history(
    conversion_pk: ConversionPk, session: Session, principal: Auth
) -> ConversionHistory:
    """A conversion's first row and every postback of it in arrival order (any row's id)."""
    return await service.history(session, principal, conversion_pk)


@router.get("/stats", response_model=Stats, dependencies=[SingleValues, StrictQuery])
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
