"""Rendering the dashboard's pages (Jinja2, autoescaped) and its tables for download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse

from postback import __version__
from postback.admin import i18n as languages
from postback.auth import Principal
from postback.dashboard import repository, service
from postback.dashboard import session as partner_session
from postback.dashboard.exports import Table
from postback.dashboard.i18n import Translator
from postback.web.headers import CSP, PAGE_HEADERS, PAGE_POLICY

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
SECURITY_HEADERS = {CSP: PAGE_POLICY, **PAGE_HEADERS, "Cache-Control": "no-store"}

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["version"] = __version__
environment.globals["csrf_field"] = partner_session.CSRF_FIELD


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    language, chosen_now = languages.pick(request)
    html = environment.get_template(template).render(
        t=Translator(language), lang=language, lang_path=request.url.path, **context
    )
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    if chosen_now:
        response.set_cookie(
            languages.LANG_COOKIE,
            language,
            max_age=LANG_COOKIE_MAX_AGE,
            path="/dashboard",
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def login(
    request: Request, *, status_code: int = 200, error: tuple[str, int] | None = None
) -> HTMLResponse:
    current = partner_session.read(request)
    if current is None or current.tenant_id is not None:
        current = partner_session.new_session()
    response = render(request, "login.html", status_code, session=current, error=error)
    partner_session.write(request, response, current)
    return response


async def dashboard(request: Request, session: AsyncSession, principal: Principal) -> HTMLResponse:
    settings = request.app.state.settings
    partner = None
    choices: list[tuple[str, str]] = []
    zone = settings.zone.key
    if principal.is_admin:
        choices = list(await repository.partner_choices(session))
    elif principal.tenant_id is not None:
        info = await repository.tenant_by_id(session, principal.tenant_id)
        if info is not None:
            partner = (info.slug, info.name)
            zone = info.timezone or zone
    language, _ = languages.pick(request)
    labels = orjson.dumps(Translator(language).all()).decode()
    current = partner_session.read(request)
    return render(
        request,
        "dashboard.html",
        is_admin=principal.is_admin,
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
