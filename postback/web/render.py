"""Rendering every browser page: one Jinja2 environment (autoescaped, strict), one `render()`
in the request's language, and the security headers every page answer carries.

Templates stay in their area's folder and are named by area: "admin/partners.html",
"dashboard/dashboard.html", "ask/ask.html".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, PrefixLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from postback import __version__
from postback.web.headers import BROWSER_PAGE_HEADERS
from postback.web.labels import LANG_COOKIE, Labels, Translator, choose
from postback.web.session import CSRF_FIELD

PACKAGE = Path(__file__).parent.parent
# area: the package folder holding its templates ("conversions": the search and conversion
# page parts the admin and the dashboard both include).
AREAS = {
    "admin": "admin",
    "dashboard": "dashboard",
    "ask": "nlq",
    "conversions": "conversions",
    "rejections": "rejections",
    "web": "web",
    "audit": "audit",
    "anomalies": "anomalies",
}
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600

environment = Environment(
    loader=PrefixLoader(
        {area: FileSystemLoader(PACKAGE / folder / "templates") for area, folder in AREAS.items()}
    ),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["version"] = __version__
environment.globals["csrf_field"] = CSRF_FIELD


def render(
    request: Request,
    template: str,
    catalogue: Labels,
    /,
    *,
    status_code: int = 200,
    lang_path: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page in the request's language, labelled from the area's `catalogue`; `lang_path`
    is where the language links go."""
    language, chosen_now = choose(request)
    html = environment.get_template(template).render(
        t=Translator(language, catalogue),
        lang=language,
        lang_path=lang_path or request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers=BROWSER_PAGE_HEADERS)
    if chosen_now:
        response.set_cookie(
            LANG_COOKIE,
            language,
            max_age=LANG_COOKIE_MAX_AGE,
            path="/",
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response
