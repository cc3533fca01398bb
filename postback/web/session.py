"""The browser session of every page (/admin, /dashboard, /ask): one cookie holding a random
token, and the server-side store behind it (postback/accounts/sessions.py: the
`sign_in_session` table keeps the token's hash, who signed in, when it ends and whether it was
revoked). A browser that has not signed in holds a token with no stored session: it only
carries the CSRF token of its sign-in form. Signing in issues a fresh token (nothing from
before carries over); signing out revokes the stored session; disabling a user, resetting its
password, rotating a partner's API key or changing the admin token ends its sessions.

The CSRF token of a session is derived from its token with a key made from the admin token
(`postback.auth.session_key`), so nothing more is stored and every instance agrees. What a
form's answer shows once after its redirect (a secret just made) rides in a short-lived
signed cookie beside it, bound to the session's CSRF token and to the one page that shows it
(`keep_once`, `read_once`, `forget_once`).

Signing in anywhere signs in everywhere the principal may go, and signing out anywhere signs
out everywhere: an admin opens all three areas, an analyst and a partner the dashboard and
/ask (the admin pages need an admin).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import Depends
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from postback.accounts import sessions
from postback.accounts.models import SessionKind
from postback.auth import (
    COOKIE,
    Identity,
    Refusal,
    identify,
    identify_user,
    session_identity,
    session_key,
)
from postback.security import secrets_equal
from postback.web.throttle import SignInThrottle, client_address

COOKIE_PATH = "/"
CSRF_FIELD = "csrf_token"
ONCE_COOKIE = "postback_once"
ONCE_SALT = "postback.once"
ONCE_MAX_AGE = 300
FLOW_COOKIE = "postback_oidc"
FLOW_SALT = "postback.oidc"
FLOW_MAX_AGE = 600
FLOW_PATH = "/auth/oidc"


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """The browser's token, its CSRF token, and who it stands for (None: nobody yet)."""

    token: str
    csrf: str
    identity: Identity | None = None

    @property
    def signed_in(self) -> bool:
        return self.identity is not None

    @property
    def is_admin(self) -> bool:
        """Opens the admin pages: an admin (user or admin token)."""
        return self.identity is not None and self.identity.principal.may_change

    def csrf_matches(self, given: object) -> bool:
        return isinstance(given, str) and secrets_equal(given, self.csrf)


def _session(request: Request, token: str, identity: Identity | None = None) -> BrowserSession:
    return BrowserSession(token, sessions.csrf_for(session_key(request), token), identity)


def anonymous(request: Request) -> BrowserSession:
    """A session that only carries a CSRF token (for a sign-in form); nothing is stored."""
    return _session(request, sessions.new_token())


def for_sign_in_form(request: Request, current: BrowserSession | None) -> BrowserSession:
    """The session a sign-in form is shown on when nobody is signed in: the browser's own
    while it is anonymous, else (its session ended) a fresh anonymous one."""
    return current if current is not None and not current.signed_in else anonymous(request)


async def start(request: Request, identity: Identity) -> BrowserSession:
    """A fresh stored session (and CSRF token) for who just signed in."""
    opening = sessions.Opening(
        kind=identity.kind,
        user_id=identity.principal.user_id if identity.kind is SessionKind.USER else None,
        tenant_id=identity.principal.tenant_id
        if identity.kind is SessionKind.PARTNER_KEY
        else None,
        credential=identity.key,
        ip=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    hours = request.app.state.settings.session_hours
    token = await sessions.open_session(request.app.state.db.engine, opening, hours)
    return _session(request, token, identity)


async def read(request: Request) -> BrowserSession | None:
    """The session the request's cookie carries (None without a well-formed cookie), with
    who it stands for if its stored session is live."""
    token = request.cookies.get(COOKIE)
    if not sessions.is_token(token):
        return None
    assert token is not None
    return _session(request, token, await session_identity(request, token))


def write(request: Request, response: Response, session: BrowserSession) -> None:
    hours = request.app.state.settings.session_hours
    response.set_cookie(
        COOKIE,
        session.token,
        max_age=int(hours * 3600),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


async def end(request: Request, response: Response, session: BrowserSession | None) -> None:
    """Signing out: the stored session is revoked and the browser drops the cookie."""
    if session is not None:
        await sessions.revoke(request.app.state.db.engine, session.token)
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")


def _serializer(request: Request, salt: str) -> URLSafeTimedSerializer:
    context = b"postback shown once v1"
    key = hmac.new(request.app.state.admin_token.encode(), context, hashlib.sha256).digest()
    return URLSafeTimedSerializer(key, salt=salt)


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


# --- A sign-in with the OIDC provider under way ----------------------------------------


def keep_flow(request: Request, response: Response, data: dict[str, str]) -> None:
    """Keep what a started OIDC sign-in needs when the provider sends the browser back (its
    state, nonce and PKCE verifier): in this browser only, signed, for FLOW_MAX_AGE, sent
    only to /auth/oidc."""
    response.set_cookie(
        FLOW_COOKIE,
        _serializer(request, FLOW_SALT).dumps(data),
        max_age=FLOW_MAX_AGE,
        path=FLOW_PATH,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET: the cookie comes
        secure=request.url.scheme == "https",
    )


def read_flow(request: Request) -> dict[str, str] | None:
    """What `keep_flow` kept in this browser, unless it is missing, forged or too old."""
    cookie = request.cookies.get(FLOW_COOKIE)
    if not cookie:
        return None
    try:
        payload = _serializer(request, FLOW_SALT).loads(cookie, max_age=FLOW_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
        return None
    return {str(k): v for k, v in payload.items()}


def forget_flow(response: Response) -> None:
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax")


async def browser_identity(request: Request) -> Identity | None:
    """The principal dependency of the pages: who the request's session stands for."""
    current = await read(request)
    return current.identity if current is not None else None


BrowserIdentity = Annotated[Identity | None, Depends(browser_identity)]


# --- Signing in -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Throttled:
    retry_after: int


class Refused(Enum):
    WRONG = "wrong"  # unknown credentials, or not ones this form takes
    DISABLED = "disabled"  # the right credentials, but the account or partner is disabled
    NOT_ADMIN = "not_admin"  # a user's right password at the admin's form, not an admin's


SignInOutcome = Identity | Throttled | Refused
Accepts = Literal["admin", "anyone"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a sign-in form sent: a token (the admin token or an API key), or an email and a
    password."""

    token: str = ""
    email: str = ""
    password: str = ""

    @classmethod
    def of(cls, form: Any, token_field: str = "token") -> Credentials:  # noqa: S107 (a name)
        def text(name: str) -> str:
            value = form.get(name)
            return value if isinstance(value, str) else ""

        return cls(text(token_field).strip(), text("email").strip(), text("password"))


async def sign_in(
    request: Request, throttle: SignInThrottle, given: Credentials, accepts: Accepts
) -> SignInOutcome:
    """What a sign-in form's credentials are worth. Failures count against the client's
    address and, for an email, against that email (whichever address guesses it)."""
    keys = [client_address(request)]
    if given.email and not given.token:
        keys.append("email:" + given.email.lower())
    for key in keys:
        wait = await throttle.retry_after(key)
        if wait:
            return Throttled(wait)
    found = await _identify(request, given)
    if isinstance(found, Identity) and accepts == "admin" and not found.principal.may_change:
        if found.kind is SessionKind.USER:
            # The right password of an account without the role: no guess to count.
            for key in keys:
                await throttle.succeeded(key)
            return Refused.NOT_ADMIN
        found = Refusal.UNKNOWN
    if found is Refusal.DISABLED and accepts == "admin" and given.token:
        found = Refusal.UNKNOWN
    if found is Refusal.UNKNOWN:
        for key in keys:
            await throttle.failed(key)
        return Refused.WRONG
    # A disabled account's right password is still right: no guess to count.
    for key in keys:
        await throttle.succeeded(key)
    return Refused.DISABLED if found is Refusal.DISABLED else found


def refusal_label(
    given: Credentials,
    refused: Refused,
    wrong_token: str = "wrong_token",  # noqa: S107 (a label key)
) -> str:
    """The label key a sign-in form shows for a refusal of these credentials."""
    by_password = bool(given.email) and not given.token
    if refused is Refused.NOT_ADMIN:
        return "not_an_admin"
    if refused is Refused.DISABLED:
        return "account_disabled" if by_password else "partner_disabled"
    return "wrong_password" if by_password else wrong_token


async def _identify(request: Request, given: Credentials) -> Identity | Refusal:
    if given.token:
        return await identify(request, given.token)
    if given.email and given.password:
        return await identify_user(request, given.email, given.password)
    return Refusal.UNKNOWN
