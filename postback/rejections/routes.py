"""`/api/rejections`: the work queue of refused postbacks. Reading: the admin token or a
partner's API key (its own only); replaying: the admin token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from postback.audit.routes import Audited
from postback.auth import AdminAuth, Auth
from postback.conversions.routes import PartnerSlug, text_filter
from postback.deps import AppSettings, Session
from postback.errors import InvalidInput, PostbackError, error_body
from postback.ingest.service import IngestService, Unavailable
from postback.rejections import service
from postback.rejections.schemas import (
    BulkReplayOut,
    Reason,
    RejectionOut,
    RejectionPage,
    ReplayIn,
    ReplayOut,
)
from postback.rejections.service import Filters, Replayed, ReplayOutcome, StillInvalid

router = APIRouter(prefix="/api/rejections", tags=["rejections"])

RejectionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
FILTERS = ("tenant", "reason", "since", "until", "replayed")
PAGING = ("page", "page_size")
# Who a replay through the API is recorded as (personal accounts will name the person).
API_ACTOR = "admin token"


def _known_only(request: Request, allowed: tuple[str, ...]) -> None:
    """An unknown query parameter is a 422 naming it, never silently ignored."""
    for name in request.query_params:
        if name not in allowed:
            raise InvalidInput(f"unknown filter; use {', '.join(allowed)}", name)


def filters(
    request: Request,
    tenant: PartnerSlug = None,
    reason: Annotated[Reason | None, Query(description="Why it was refused")] = None,
    since: Annotated[str | None, text_filter("Received from (inclusive)")] = None,
    until: Annotated[str | None, text_filter("Received until (exclusive)")] = None,
    replayed: Annotated[bool | None, Query(description="Replayed already, or not yet")] = None,
) -> Filters:
    allowed = FILTERS + (PAGING if request.method == "GET" else ())
    _known_only(request, allowed)
    return Filters(tenant, reason.value if reason else None, since, until, replayed)


RejectionFilters = Annotated[Filters, Depends(filters)]


class StorageAway(PostbackError):
    status_code = 503


def ingest_service(request: Request) -> IngestService:
    ingest: IngestService | None = request.app.state.ingest
    if ingest is None:
        raise StorageAway("starting up, retry shortly", "service", {"Retry-After": "1"})
    return ingest


Ingest = Annotated[IngestService, Depends(ingest_service)]


@router.get("", response_model=RejectionPage)
async def list_rejections(
    session: Session,
    principal: Auth,
    settings: AppSettings,
    where: RejectionFilters,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> RejectionPage:
    """Refused postbacks, newest first, with filters; a partner's key sees its own."""
    return await service.list_rejections(
        session, principal, where, page=page, page_size=page_size, zone=settings.zone
    )


@router.post("/replay", response_model=BulkReplayOut)
async def replay_matching(
    session: Audited,
    principal: AdminAuth,
    settings: AppSettings,
    ingest: Ingest,
    where: RejectionFilters,
) -> BulkReplayOut:
    """Replay every rejection the filters match, as it is; counts of each outcome."""
    return await service.replay_matching(
        session, ingest, principal, where, zone=settings.zone, by=API_ACTOR
    )


@router.get("/{rejection_id}", response_model=RejectionOut)
async def get_rejection(
    rejection_id: RejectionId, session: Session, principal: Auth, request: Request
) -> RejectionOut:
    """One rejection."""
    _known_only(request, ())
    return await service.get_rejection(session, principal, rejection_id)


@router.post(
    "/{rejection_id}/replay",
    response_model=ReplayOut,
    responses={422: {"description": "Still refused: each field named"}, 503: {}},
)
async def replay(
    rejection_id: RejectionId,
    session: Audited,
    _: AdminAuth,
    ingest: Ingest,
    fix: Annotated[ReplayIn | None, Body()] = None,
) -> Any:
    """Store a rejection through the normal ingest path (optionally corrected); once only."""
    return answer(await service.replay(session, ingest, rejection_id, fix, by=API_ACTOR))


def answer(outcome: ReplayOutcome) -> ReplayOut | JSONResponse:
    """The one mapping from a replay's outcome to the HTTP answer."""
    match outcome:
        case Replayed():
            return ReplayOut(
                status="already_replayed" if outcome.already else "replayed",
                conversion_pk=outcome.conversion_pk,
                duplicate=outcome.duplicate,
                spooled=outcome.spooled,
                rejection=outcome.rejection,
            )
        case StillInvalid(errors=errors):
            return JSONResponse(error_body(errors), status_code=422)
        case Unavailable(cause=cause):
            field = "service" if cause == "overloaded" else "database"
            body = error_body([{"field": field, "message": "unavailable, retry shortly"}])
            return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
