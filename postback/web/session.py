"""The browser session of every page (/admin, /dashboard, /ask): one signed cookie (and,
for what a form's answer shows once after its redirect, a short-lived one beside it).

The cookie holds a CSRF token and who signed in: the admin, or one partner with the
fingerprint of its API key (postback/auth.py), so rotating the key or disabling the partner
ends its sessions at once. The signing key is derived from the admin token, so every
instance agrees on it without shared state, and changing the admin token signs everyone out.
The cookie holds no secret of its own: it only proves this server issued it, and when.
Secrets a form just made ride in the short-lived `postback_once` cookie instead (signed,
HttpOnly, SameSite, bound to the session's CSRF token and to the one page that shows them),
from the form's redirect to that page, which drops it (`keep_once`, `read_once`,
`forget_once`).

Signing in anywhere signs in everywhere the principal may go, and signing out anywhere signs
out everywhere: the admin token opens all three areas, a partner's key the dashboard and
/ask (the admin pages need the admin).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from postback.auth import (
    ADMIN_IDENTITY,
    BEARER,
    Identity,
    Principal,
    Refusal,
    get_principal,
    identify,
    recognise,
)
from postback.errors import NotAuthenticated
from postback.security import secrets_equal
from postback.web.throttle import SignInThrottle, client_address

COOKIE = "postback_session"
COOKIE_PATH = "/"
MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf_token"
ONCE_COOKIE = "postback_once"
ONCE_SALT = "postback.once"
ONCE_MAX_AGE = 300


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """`signed_in` with `tenant_id` None: the admin. `key`: the partner's API key fingerprint."""

    csrf: str
    signed_in: bool = False
    tenant_id: int | None = None
    key: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.signed_in and self.tenant_id is None

    def csrf_matches(self, given: object) -> bool:
        return isinstance(given, str) and secrets_equal(given, self.csrf)


def anonymous() -> BrowserSession:
    """A session that only carries a CSRF token (for a sign-in form)."""
    return BrowserSession(csrf=secrets.token_urlsafe(32))


def for_sign_in_form(current: BrowserSession | None) -> BrowserSession:
    """The session a sign-in form is shown on when nobody is signed in: the browser's own
    while it is anonymous, else (its principal is gone) a fresh anonymous one."""
    return current if current is not None and not current.signed_in else anonymous()


def signed_in_as(identity: Identity) -> BrowserSession:
    """A fresh session (and CSRF token) on signing in: nothing issued before carries over."""
    return BrowserSession(
        csrf=secrets.token_urlsafe(32),
        signed_in=True,
        tenant_id=identity.principal.tenant_id,
        key=identity.key,
    )


def _serializer(request: Request, salt: str = "postback.session") -> URLSafeTimedSerializer:
    context = b"postback browser session v2"
    key = hmac.new(request.app.state.admin_token.encode(), context, hashlib.sha256).digest()
    return URLSafeTimedSerializer(key, salt=salt)


def read(request: Request) -> BrowserSession | None:
    """The session the request's cookie carries, if it is genuine and not expired."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    try:
        data = _serializer(request).loads(cookie, max_age=MAX_AGE)
    except BadSignature:
        return None
    return _from_cookie(data)


def _from_cookie(data: Any) -> BrowserSession | None:
    if not isinstance(data, dict):
        return None
    csrf, signed_in = data.get("csrf"), data.get("in")
    tenant_id, key = data.get("tenant"), data.get("key")
    if not isinstance(csrf, str) or not isinstance(signed_in, bool):
        return None
    if tenant_id is not None and (not isinstance(tenant_id, int) or not isinstance(key, str)):
        return None
    return BrowserSession(csrf=csrf, signed_in=signed_in, tenant_id=tenant_id, key=key)


def write(request: Request, response: Response, session: BrowserSession) -> None:
    data: dict[str, Any] = {
        "csrf": session.csrf,
        "in": session.signed_in,
        "tenant": session.tenant_id,
    }
    response.set_cookie(
        COOKIE,
        _serializer(request).dumps({**data, "key": session.key}),
        max_age=MAX_AGE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")


# --- Shown once: what a form's answer shows after post/redirect/get -------------------


def keep_once(
    request: Request,
    response: Response,
    session: BrowserSession,
    path: str,
    data: dict[str, Any],
) -> None:
    """Keep `data` (a notice, a secret just made) for the next view of the page at `path`
    only, so a reload neither posts the form again nor shows the secret again. It rides in a
    cookie of its own, signed like the session, bound to this session's CSRF token, sent only
    to `path`, and gone after ONCE_MAX_AGE or once read (`read_once`, then `forget_once`)."""
    payload = {"csrf": session.csrf, "path": path, "data": data}
    response.set_cookie(
        ONCE_COOKIE,
        _serializer(request, ONCE_SALT).dumps(payload),
        max_age=ONCE_MAX_AGE,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def read_once(request: Request, session: BrowserSession) -> dict[str, Any] | None:
    """What `keep_once` kept for this page and this session, if anything."""
    cookie = request.cookies.get(ONCE_COOKIE)
    if not cookie:
        return None
    try:
        payload = _serializer(request, ONCE_SALT).loads(cookie, max_age=ONCE_MAX_AGE)
    except BadSignature:
        return None
    if (
        not isinstance(payload, dict)
        or payload.get("path") != request.url.path
        or not session.csrf_matches(payload.get("csrf"))
        or not isinstance(payload.get("data"), dict)
    ):
        return None
    data: dict[str, Any] = payload["data"]
    return data


def forget_once(request: Request, response: Response) -> None:
    """The page has shown what was kept for it: the browser drops it."""
    response.delete_cookie(ONCE_COOKIE, path=request.url.path, httponly=True, samesite="lax")


async def identity_of(request: Request, session: BrowserSession | None) -> Identity | None:
    """Who the session stands for, checked against the database on every request."""
    if session is None or not session.signed_in:
        return None
    if session.tenant_id is None:
        return ADMIN_IDENTITY
    return await recognise(request, session.tenant_id, session.key)


async def browser_identity(request: Request) -> Identity | None:
    """The principal dependency of the pages: who the request's session stands for."""
    return await identity_of(request, read(request))


BrowserIdentity = Annotated[Identity | None, Depends(browser_identity)]


async def bearer_or_session(
    request: Request,
    signed_in: BrowserIdentity,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Principal:
    """Who reads data: a bearer token when one is sent, else the browser's session (the
    admin's or a partner's), so a signed-in browser can open the JSON it links to."""
    if request.headers.get("authorization"):
        return await get_principal(request, credentials)
    if signed_in is None:
        raise NotAuthenticated("sign in at /dashboard, or send Authorization: Bearer <token>")
    return signed_in.principal


Viewer = Annotated[Principal, Depends(bearer_or_session)]


# --- Signing in -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Throttled:
    retry_after: int


class Refused(Enum):
    WRONG = "wrong"  # the token is unknown, or not one this form takes
    DISABLED = "disabled"  # a partner's right key, but the partner is disabled


SignInOutcome = Identity | Throttled | Refused
Accepts = Literal["admin", "partner", "anyone"]


def _accepts(accepts: Accepts, identity: Identity) -> bool:
    if accepts == "anyone":
        return True
    return identity.principal.is_admin == (accepts == "admin")


async def sign_in(
    request: Request, throttle: SignInThrottle, given: object, accepts: Accepts
) -> SignInOutcome:
    """What a sign-in form's token is worth; failures count against the client's address."""
    address = client_address(request)
    wait = await throttle.retry_after(address)
    if wait:
        return Throttled(wait)
    token = given.strip() if isinstance(given, str) else ""
    found = await identify(request, token) if token else Refusal.UNKNOWN
    if isinstance(found, Identity) and not _accepts(accepts, found):
        found = Refusal.UNKNOWN
    if found is Refusal.DISABLED and accepts == "admin":
        found = Refusal.UNKNOWN
    if found is Refusal.UNKNOWN:
        await throttle.failed(address)
        return Refused.WRONG
    # A disabled partner's key is still the right key: no guess to count.
    await throttle.succeeded(address)
    return Refused.DISABLED if found is Refusal.DISABLED else found
