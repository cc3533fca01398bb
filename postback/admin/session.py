"""The admin's browser session: a signed cookie holding a CSRF token and whether it signed in.

The signing key is derived from the admin token, so every instance agrees on it without
shared state, and changing the admin token signs everyone out. The cookie holds no secret
of its own: it only proves this server issued it.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from postback.web.cookies import CSRF_FIELD, SignedCookie, csrf_matches, new_csrf

__all__ = ["CSRF_FIELD", "AdminSession", "clear", "new_session", "read", "write"]

# "/": the dashboard (/dashboard) and /ask honour the admin's session too.
COOKIE_JAR = SignedCookie("postback_admin", path="/", purpose="admin")
COOKIE = COOKIE_JAR.name


@dataclass(frozen=True, slots=True)
class AdminSession:
    csrf: str
    signed_in: bool

    def csrf_matches(self, given: object) -> bool:
        return csrf_matches(self.csrf, given)


def new_session(*, signed_in: bool) -> AdminSession:
    return AdminSession(csrf=new_csrf(), signed_in=signed_in)


def read(request: Request) -> AdminSession | None:
    """The session the request's cookie carries, if it is genuine and not expired."""
    data = COOKIE_JAR.load(request)
    if data is None:
        return None
    csrf, signed_in = data.get("csrf"), data.get("in")
    if not isinstance(csrf, str) or not isinstance(signed_in, bool):
        return None
    return AdminSession(csrf=csrf, signed_in=signed_in)


def write(request: Request, response: Response, session: AdminSession) -> None:
    COOKIE_JAR.store(request, response, {"csrf": session.csrf, "in": session.signed_in})


def clear(response: Response) -> None:
    COOKIE_JAR.clear(response)
