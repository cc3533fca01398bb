"""The admin's browser session: a signed cookie holding a CSRF token and whether it signed in.

The signing key is derived from the admin token, so every instance agrees on it without
shared state, and changing the admin token signs everyone out. The cookie holds no secret
of its own: it only proves this server issued it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from postback.security import secrets_equal

COOKIE = "postback_admin"
COOKIE_PATH = "/admin"
CSRF_FIELD = "csrf_token"
MAX_AGE_SECONDS = 12 * 3600
_KEY_CONTEXT = b"postback admin session v1"


@dataclass(frozen=True, slots=True)
class AdminSession:
    csrf: str
    signed_in: bool

    def csrf_matches(self, given: object) -> bool:
        return isinstance(given, str) and secrets_equal(given, self.csrf)


def _serializer(admin_token: str) -> URLSafeTimedSerializer:
    key = hmac.new(admin_token.encode(), _KEY_CONTEXT, hashlib.sha256).digest()
    return URLSafeTimedSerializer(key, salt="postback.admin.session")


def new_session(*, signed_in: bool) -> AdminSession:
    return AdminSession(csrf=secrets.token_urlsafe(32), signed_in=signed_in)


def read(request: Request) -> AdminSession | None:
    """The session the request's cookie carries, if it is genuine and not expired."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    try:
        data = _serializer(request.app.state.admin_token).loads(cookie, max_age=MAX_AGE_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    csrf, signed_in = data.get("csrf"), data.get("in")
    if not isinstance(csrf, str) or not isinstance(signed_in, bool):
        return None
    return AdminSession(csrf=csrf, signed_in=signed_in)


def write(request: Request, response: Response, session: AdminSession) -> None:
    value = _serializer(request.app.state.admin_token).dumps(
        {"csrf": session.csrf, "in": session.signed_in}
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")
