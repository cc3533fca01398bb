"""The dashboard: the page, partner sign-in, JSON data, CSV/Excel downloads and the live feed.

The data endpoints accept the browser session (the admin's or a partner's: postback/web/
session.py), or `Authorization: Bearer` with the admin token or a partner's API key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from postback.auth import Auth
from postback.conversions.routes import ConversionPk, text_filter
from postback.conversions.service import scope_tenant
from postback.dashboard import exports, pages, repository, service
from postback.dashboard.schemas import (
    CurrencyRow,
    FeedItem,
    KpisOut,
    OfferRow,
    PartnerRow,
    RangeName,
    SeriesOut,
    StatusRow,
    TableOut,
)
from postback.deps import AppSettings, Session
from postback.web import session as browser
from postback.web.session import CSRF_FIELD, BrowserIdentity, Refused, Throttled
from postback.web.throttle import Throttle

router = APIRouter(prefix="/dashboard", tags=["dashboard"])

FEED_POLL_SECONDS = 1.0
FEED_HEARTBEAT_SECONDS = 15.0
FEED_BATCH = 50
FEED_FIRST = 20
# A stream ends after this long; the browser reconnects and resumes after Last-Event-ID.
FEED_MAX_SECONDS = 300.0


Range = Annotated[RangeName, Query(alias="range", description="today, yesterday, 7d, 30d, custom")]
Day = Annotated[str | None, text_filter("A date (custom range), in the reporting timezone")]
Partner = Annotated[str | None, text_filter("Partner slug (admin only)")]


async def scope_of(
    session: Session,
    principal: Auth,
    settings: AppSettings,
    name: Range = RangeName.today,
    since: Day = None,
    until: Day = None,
    tenant: Partner = None,
) -> service.Scope:
    return await service.resolve(
        session,
        principal,
        name=name,
        since=since,
        until=until,
        tenant=tenant,
        default_zone=settings.zone,
    )


Scope = Annotated[service.Scope, Depends(scope_of)]


# --- The page and signing in ----------------------------------------------------------


@router.get("", include_in_schema=False)
async def page(request: Request, session: Session, signed_in: BrowserIdentity) -> Response:
    if signed_in is None:
        return pages.login(request, browser.for_sign_in_form(request, await browser.read(request)))
    return await pages.dashboard(request, session, signed_in.principal)


@router.get("/conversions", include_in_schema=False)
async def conversion_search(
    request: Request, session: Session, signed_in: BrowserIdentity
) -> Response:
    if signed_in is None:
        return pages.login(request, browser.for_sign_in_form(request, await browser.read(request)))
    return await pages.conversion_search(request, session, signed_in.principal)


@router.get("/conversions/{conversion_pk}", include_in_schema=False)
async def conversion_page(
    request: Request, conversion_pk: ConversionPk, session: Session, signed_in: BrowserIdentity
) -> Response:
    if signed_in is None:
        return pages.login(request, browser.for_sign_in_form(request, await browser.read(request)))
    return await pages.conversion(request, session, signed_in.principal, conversion_pk)


@router.post("/login", include_in_schema=False)
async def login(request: Request, throttle: Throttle) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    current = await browser.read(request)
    if current is None or not current.csrf_matches(form.get(CSRF_FIELD)):
        expired = browser.for_sign_in_form(request, current)
        return pages.login(request, expired, status_code=403, error=("csrf_failed", 0))
    given = browser.Credentials.of(form, "api_key")
    outcome = await browser.sign_in(request, throttle, given, "anyone")
    if isinstance(outcome, Throttled):
        wait = outcome.retry_after
        response = pages.login(request, current, status_code=429, error=("too_many_attempts", wait))
        response.headers["Retry-After"] = str(wait)
        return response
    if isinstance(outcome, Refused):
        status = 401 if outcome is Refused.WRONG else 403
        label = browser.refusal_label(given, outcome, "wrong_key")
        return pages.login(request, current, status_code=status, error=(label, 0))
    redirect = RedirectResponse("/dashboard", status_code=303)
    browser.write(request, redirect, await browser.start(request, outcome))
    return redirect


@router.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    current = await browser.read(request)
    if current is None or not current.csrf_matches(form.get(CSRF_FIELD)):
        expired = browser.for_sign_in_form(request, current)
        return pages.login(request, expired, status_code=403, error=("csrf_failed", 0))
    response = RedirectResponse("/dashboard", status_code=303)
    await browser.end(request, response, current)
    return response


# --- Data -------------------------------------------------------------------------------


@router.get("/api/kpis", response_model=KpisOut)
async def kpis(session: Session, scope: Scope) -> KpisOut:
    """KPIs of the range, each with the previous period of equal length."""
    return await service.kpis(session, scope)


@router.get("/api/series", response_model=SeriesOut)
async def series(session: Session, scope: Scope) -> SeriesOut:
    """Conversions and payouts by hour (ranges up to 2 days) or by day."""
    return await service.series(session, scope)


@router.get("/api/status", response_model=TableOut[StatusRow])
async def by_status(session: Session, scope: Scope) -> TableOut[StatusRow]:
    """Conversions by their current status."""
    return await service.by_status(session, scope)


@router.get("/api/currencies", response_model=TableOut[CurrencyRow])
async def by_currency(session: Session, scope: Scope) -> TableOut[CurrencyRow]:
    """Conversions by currency, with sales in that currency and in USD."""
    return await service.by_currency(session, scope)


@router.get("/api/offers", response_model=TableOut[OfferRow])
async def offers(session: Session, scope: Scope) -> TableOut[OfferRow]:
    """The offers with the most conversions."""
    return await service.top_offers(session, scope)


@router.get("/api/partners", response_model=TableOut[PartnerRow])
async def partners(session: Session, principal: Auth, scope: Scope) -> TableOut[PartnerRow]:
    """Every partner's figures (admin only)."""
    return await service.partners(session, principal, scope)


TableName = Literal["kpis", "series", "status", "currencies", "offers", "partners"]


@router.get("/export/{table}.{fmt}")
async def export(
    request: Request,
    session: Session,
    principal: Auth,
    scope: Scope,
    table: Annotated[TableName, Path()],
    fmt: Annotated[Literal["csv", "xlsx"], Path()],
) -> Response:
    """One table of the dashboard as CSV or Excel."""
    built = await pages.export_table(session, principal, scope, table, pages.translator(request))
    name = f"postback-{table}-{scope.first_day}-{scope.last_day}.{fmt}"
    if fmt == "csv":
        body, media = exports.as_csv(built), "text/csv; charset=utf-8"
    else:
        body = exports.as_xlsx(built)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# Not in the OpenAPI schema: an endless stream is no operation for schema-driven clients.
@router.get("/api/feed", response_class=StreamingResponse, include_in_schema=False)
async def feed(
    request: Request,
    session: Session,
    principal: Auth,
    tenant: Partner = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    once: Annotated[bool, Query(description="Send what is there now, then end")] = False,
) -> StreamingResponse:
    """The latest postbacks as server-sent events (`postback` events, JSON data)."""
    engine = request.app.state.db.engine
    tenant_id = await scope_tenant(session, principal, tenant)
    last_id = request.headers.get("last-event-id", "")
    start_after = int(last_id) if last_id.isdigit() else after

    async def events() -> AsyncIterator[bytes]:
        position = start_after
        idle = 0.0
        deadline = asyncio.get_running_loop().time() + FEED_MAX_SECONDS
        yield b"retry: 2000\n\n"
        while True:
            async with engine.connect() as conn:
                limit = FEED_FIRST if position == 0 else FEED_BATCH
                rows = await repository.feed_after(conn, tenant_id, position, limit)
            for row in rows:
                item = FeedItem.model_validate(row)
                data = orjson.dumps(item.model_dump(mode="json")).decode()
                yield f"id: {item.id}\nevent: postback\ndata: {data}\n\n".encode()
                position = item.id
            if once or asyncio.get_running_loop().time() > deadline:
                return
            if rows:
                idle = 0.0
            else:
                idle += FEED_POLL_SECONDS
                if idle >= FEED_HEARTBEAT_SECONDS:
                    idle = 0.0
                    yield b": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(FEED_POLL_SECONDS)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
