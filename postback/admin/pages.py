"""Rendering the admin pages: Jinja2 (autoescaped), the language, security headers, and the
HTML answers for a missing session, a failed CSRF check and a missing partner."""

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
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from postback import __version__
from postback.admin import i18n
from postback.admin.session import CSRF_FIELD, AdminSession
from postback.errors import NotFound
from postback.tenants.schemas import SLUG
from postback.web.headers import CSP, PAGE_HEADERS, PAGE_POLICY

TEMPLATES = Path(__file__).parent / "templates"
CENTS = Decimal("0.01")
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
# The app's page headers (postback/web/headers.py), on every admin answer, redirects too.
SECURITY_HEADERS = {
    CSP: PAGE_POLICY,
    **PAGE_HEADERS,
    # Pages can carry a secret shown once: never keep them in a cache or the history.
    "Cache-Control": "no-store",
}


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


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["local_time"] = _local_time
environment.filters["money"] = _money
environment.filters["problems_text"] = _problems_text
environment.globals["version"] = __version__
environment.globals["csrf_field"] = CSRF_FIELD
environment.globals["slug_pattern"] = SLUG


def render(
    request: Request,
    template: str,
    *,
    session: AdminSession | None,
    status_code: int = 200,
    lang_path: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page in the request's language; `lang_path` is where the language links go."""
    language, chosen_now = i18n.pick(request)
    html = environment.get_template(template).render(
        t=i18n.Translator(language),
        lang=language,
        lang_path=lang_path or request.url.path,
        session=session,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if chosen_now:
        response.set_cookie(
            i18n.LANG_COOKIE,
            language,
            max_age=LANG_COOKIE_MAX_AGE,
            path="/admin",
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


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
            response.headers.update(SECURITY_HEADERS)
            return response

        return admin_handler
