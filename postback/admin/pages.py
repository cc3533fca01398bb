"""Rendering the admin pages (through postback/web/render.py) with the admin's filters, and
the HTML answers for a missing session, a failed CSRF check and a missing partner."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from postback.admin.labels import LABELS
from postback.errors import NotFound
from postback.tenants.schemas import SLUG
from postback.web import render as web
from postback.web.headers import BROWSER_PAGE_HEADERS
from postback.web.render import environment
from postback.web.session import BrowserSession

TEMPLATES = Path(__file__).parent / "templates"
CENTS = Decimal("0.01")


class SignInRequired(Exception):
    """The page needs a signed-in admin session."""


class CsrfFailed(Exception):
    """A form arrived without this session's CSRF token."""


def _local_time(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def _money(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    if amount == amount.quantize(CENTS):
        return f"{amount:,.2f}"
    return f"{amount.normalize():,f}"


def _problems_text(errors: object) -> str:
    """A rejection's problems as one line, whatever shape the stored JSON has."""
    if not isinstance(errors, list):
        return "" if errors is None else str(errors)
    parts = []
    for error in errors:
        if isinstance(error, dict):
            parts.append(f"{error.get('field', '')}: {error.get('message', '')}")
        else:
            parts.append(str(error))
    return "; ".join(parts)


environment.filters["local_time"] = _local_time
environment.filters["money"] = _money
environment.filters["problems_text"] = _problems_text
environment.globals["slug_pattern"] = SLUG


def render(
    request: Request,
    template: str,
    *,
    session: BrowserSession | None,
    status_code: int = 200,
    lang_path: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """An admin page (templates/<template>) in the request's language."""
    if template == "login.html" and request.app.state.settings.oidc_issuer:
        context.setdefault("oidc_start", "/auth/oidc/start?next=admin")
    return web.render(
        request,
        "admin/" + template,
        LABELS,
        status_code=status_code,
        lang_path=lang_path,
        session=session,
        **context,
    )


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = "/admin/login"
    if request.method == "GET" and request.url.path != "/admin":
        target += "?next=" + quote(request.url.path, safe="/")
    return RedirectResponse(target, status_code=303)


def safe_next(value: object) -> str:
    """Where to go after signing in: only a page of this admin, never another site."""
    if (
        isinstance(value, str)
        and (value == "/admin" or value.startswith("/admin/"))
        and "//" not in value
        and "\\" not in value
    ):
        return value
    return "/admin"


class AdminRoute(APIRoute):
    """Admin routes answer in HTML with security headers, whatever happens."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def admin_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                response = sign_in_redirect(request)
            except CsrfFailed:
                response = render(
                    request, "message.html", session=None, status_code=403, key="csrf_failed"
                )
            except (NotFound, RequestValidationError):
                response = render(
                    request, "message.html", session=None, status_code=404, key="not_found"
                )
            response.headers.update(BROWSER_PAGE_HEADERS)
            return response

        return admin_handler
