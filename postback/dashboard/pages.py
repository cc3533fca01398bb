"""Rendering the dashboard's pages (through postback/web/render.py) and its tables for
download."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse

from postback.anomalies import repository as anomalies
from postback.auth import Principal
from postback.conversions import pages as conversion_pages
from postback.dashboard import repository, service
from postback.dashboard.exports import Table
from postback.dashboard.labels import LABELS
from postback.errors import NotFound
from postback.web import render as web
from postback.web import session as browser
from postback.web.labels import Translator, choose
from postback.web.session import BrowserSession

# The unresolved alerts the dashboard shows at most (the rest: /api/alerts).
ALERTS_SHOWN = 20


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A dashboard page (templates/<template>) in the request's language."""
    return web.render(request, "dashboard/" + template, LABELS, status_code=status_code, **context)


def translator(request: Request) -> Translator:
    return Translator(choose(request)[0], LABELS)


def login(
    request: Request,
    current: BrowserSession,
    *,
    status_code: int = 200,
    error: tuple[str, int] | None = None,
) -> HTMLResponse:
    """The sign-in page on this session (its CSRF token goes into the form)."""
    oidc = "/auth/oidc/start?next=dashboard" if request.app.state.settings.oidc_issuer else None
    response = render(
        request, "login.html", status_code, session=current, error=error, oidc_start=oidc
    )
    browser.write(request, response, current)
    return response


async def _who(
    request: Request, session: AsyncSession, principal: Principal
) -> tuple[tuple[str, str] | None, list[tuple[str, str]], str]:
    """The partner signed in (slug, name), the partners an admin may pick, and the zone."""
    partner = None
    choices: list[tuple[str, str]] = []
    zone = request.app.state.settings.zone.key
    if principal.sees_every_partner:
        choices = list(await repository.partner_choices(session))
    elif principal.tenant_id is not None:
        info = await repository.tenant_by_id(session, principal.tenant_id)
        if info is not None:
            partner = (info.slug, info.name)
            zone = info.timezone or zone
    return partner, choices, zone


def _local(moment: datetime, zone: str) -> str:
    """An alert's time in its partner's reporting timezone."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


async def dashboard(request: Request, session: AsyncSession, principal: Principal) -> HTMLResponse:
    partner, choices, zone = await _who(request, session, principal)
    labels = orjson.dumps(translator(request).all()).decode()
    current = await browser.read(request)
    alerts = await anomalies.list_alerts(
        session, tenant_id=principal.tenant_id, slug=None, state=None, limit=ALERTS_SHOWN
    )
    default_zone = request.app.state.settings.timezone
    shown = [
        {
            "row": a,
            "zone": a.timezone or default_zone,
            "started": _local(a.started_at, a.timezone or default_zone),
        }
        for a in alerts
        if a.state != "resolved"
    ]
    return render(
        request,
        "dashboard.html",
        alerts=shown,
        is_admin=principal.sees_every_partner,
        partner=partner,
        choices=choices,
        zone=zone,
        labels=labels,
        session=current,
    )


def _money_columns(keys: list[str]) -> list[bool]:
    textual = {"status", "currency", "offer_id", "offer_name", "slug", "name", "bucket", "metric"}
    return [key not in textual for key in keys]


async def export_table(
    session: AsyncSession, principal: Principal, scope: service.Scope, table: str, t: Translator
) -> Table:
    """One of the dashboard's tables with headers in the viewer's language."""
    if table == "kpis":
        out = await service.kpis(session, scope)
        headers = [t("metric"), t("value"), t("previous"), t("change")]
        rows = [[t(k.key), k.value, k.previous, k.change] for k in out.kpis]
        return Table(t("kpis"), headers, rows, [False, True, True, True])
    if table == "series":
        points = (await service.series(session, scope)).points
        keys = ["bucket", "conversions", "sales_usd", "payouts_usd", "payouts_myr"]
        data = service.table_rows(points)
        for row, point in zip(data, points, strict=True):
            row["bucket"] = point.bucket.strftime("%Y-%m-%d %H:%M")
        title = t("series")
    elif table == "status":
        keys = ["status", "conversions", "sales_usd", "payouts_usd"]
        data = service.table_rows((await service.by_status(session, scope)).rows)
        title = t("by_status")
    elif table == "currencies":
        keys = ["currency", "conversions", "sales_local", "sales_usd", "payouts_usd"]
        data = service.table_rows((await service.by_currency(session, scope)).rows)
        title = t("by_currency")
    elif table == "offers":
        keys = ["offer_id", "offer_name", "conversions", "sales_usd", "sales_myr"]
        keys += ["payouts_usd", "payouts_myr"]
        data = service.table_rows((await service.top_offers(session, scope)).rows)
        title = t("top_offers")
    else:
        keys = ["slug", "name", "conversions", "duplicates", "approved", "sales_usd"]
        keys += ["sales_myr", "payouts_usd", "payouts_myr"]
        data = service.table_rows((await service.partners(session, principal, scope)).rows)
        title = t("partners")
    headers = [t(_LABEL.get(k, k)) for k in keys]
    return Table(title, headers, [[row[k] for k in keys] for row in data], _money_columns(keys))


_LABEL = {"offer_name": "offer", "bucket": "bucket", "approved": "approved"}


async def conversion_search(
    request: Request, session: AsyncSession, principal: Principal
) -> HTMLResponse:
    """The search page: the partner's own conversions (every partner's for the admin)."""
    default_zone = request.app.state.settings.zone
    found = await conversion_pages.search(session, principal, request.query_params, default_zone)
    partner, choices, _ = await _who(request, session, principal)
    return render(
        request,
        "conversions.html",
        422 if found.problems else 200,
        search=found,
        is_admin=principal.sees_every_partner,
        partner=partner,
        choices=choices,
        statuses=conversion_pages.STATUSES,
        session=await browser.read(request),
    )


async def conversion(
    request: Request, session: AsyncSession, principal: Principal, pk: int
) -> HTMLResponse:
    """A conversion's page, or not found (also for another partner's conversion)."""
    default_zone = request.app.state.settings.zone
    partner, _, _ = await _who(request, session, principal)
    try:
        view = await conversion_pages.conversion(session, principal, pk, default_zone)
    except NotFound:
        view = None
    return render(
        request,
        "conversion.html",
        200 if view else 404,
        view=view,
        forwards=None,
        is_admin=principal.sees_every_partner,
        partner=partner,
        statuses=conversion_pages.STATUSES,
        session=await browser.read(request),
    )
