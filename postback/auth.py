"""Who is asking: a principal with a role, for the API and the browser pages alike.

A principal comes from a bearer token (the admin token, or a partner's API key: `identify`),
from a personal account's email and password (`identify_user`, at a sign-in form), or from
a browser session opened by either (`session_identity`, postback/accounts/sessions.py). The
principal says plainly what it may do: `may_change` (the admin role), `sees_every_partner`
(admin and analyst), and otherwise `tenant_id`, the one partner whose data it sees. A
partner's user and that partner's API key are the same principal, so isolation is the same.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from postback.accounts import passwords, sessions
from postback.accounts import repository as accounts
from postback.accounts.models import Role, SessionKind
from postback.errors import Forbidden, NotAuthenticated
from postback.security import hash_secret, secrets_equal
from postback.settings import Settings
from postback.tenants import repository
from postback.tenants.repository import KeyHolder

ADMIN_TOKEN_FILE = "admin_token"  # noqa: S105 (a file name)
# Declares the scheme in the API docs (so Swagger UI can send it); _bearer does the checking.
BEARER = HTTPBearer(auto_error=False, description="The admin token or a partner's API key")
COOKIE = "postback_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def load_admin_token(settings: Settings) -> tuple[str, bool]:
    """The admin token, and whether it was generated just now (so it can be shown once)."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value(), False
    path: Path = settings.home_dir / ADMIN_TOKEN_FILE
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "pb_admin_" + secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token, True


@dataclass(frozen=True, slots=True)
class Principal:
    """Who asks: a role, the partner (exactly when the role is partner), and the personal
    account (None for the admin token and for a partner's API key)."""

    role: Role
    tenant_id: int | None = None
    user_id: int | None = None

    @property
    def may_change(self) -> bool:
        """Creating, changing, deleting, replaying, re-sending: the admin role only."""
        return self.role is Role.ADMIN

    @property
    def sees_every_partner(self) -> bool:
        """Admins and analysts read every partner's data; a partner only its own."""
        return self.role is not Role.PARTNER


ADMIN = Principal(Role.ADMIN)


def partner_principal(tenant_id: int, user_id: int | None = None) -> Principal:
    return Principal(Role.PARTNER, tenant_id, user_id)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a credential (or a browser session) stands for: the principal, a name to show (the
    partner's, or the user's), the fingerprint of the credential a session keeps (the API key
    or the admin token; None for a user), and the kind of sign-in."""

    principal: Principal
    name: str | None = None
    key: str | None = None
    kind: SessionKind = SessionKind.ADMIN_TOKEN
    email: str | None = None


class Refusal(Enum):
    """Why a token stands for no one: unknown, or the partner it names is disabled."""

    UNKNOWN = "unknown"
    DISABLED = "disabled"


def key_fingerprint(admin_token: str, api_key_hash: str) -> str:
    """A partner's API key as a session keeps it: non-reversible without the admin token,
    and different once the key is rotated."""
    return hmac.new(admin_token.encode(), api_key_hash.encode(), hashlib.sha256).hexdigest()[:32]


def admin_identity(admin_token: str) -> Identity:
    """The admin token's identity; a session keeps its fingerprint, so changing the token
    ends the break-glass sessions opened with the old one."""
    return Identity(ADMIN, key=key_fingerprint(admin_token, "admin token"))


def _identity(admin_token: str, holder: KeyHolder) -> Identity:
    assert holder.api_key_hash is not None
    return Identity(
        partner_principal(holder.id),
        holder.name,
        key_fingerprint(admin_token, holder.api_key_hash),
        SessionKind.PARTNER_KEY,
    )


async def identify(request: Request, token: str) -> Identity | Refusal:
    """The one way a token becomes a principal: the admin token, or a partner's API key."""
    admin_token: str = request.app.state.admin_token
    if secrets_equal(token, admin_token):
        return admin_identity(admin_token)
    async with request.app.state.db.engine.connect() as conn:
        holder = await repository.key_holder_by_key_hash(conn, hash_secret(token))
    if holder is None:
        return Refusal.UNKNOWN
    if not holder.enabled:
        return Refusal.DISABLED
    return _identity(admin_token, holder)


async def recognise(request: Request, tenant_id: int, key: str | None) -> Identity | None:
    """The partner a session names, while it is enabled and holds the API key it signed in
    with (rotating the key or disabling the partner ends its sessions)."""
    async with request.app.state.db.engine.connect() as conn:
        holder = await repository.key_holder_by_id(conn, tenant_id)
    if holder is None or not holder.enabled or holder.api_key_hash is None:
        return None
    identity = _identity(request.app.state.admin_token, holder)
    if key is None or identity.key is None or not secrets_equal(key, identity.key):
        return None
    return identity


async def identify_user(request: Request, email: str, password: str) -> Identity | Refusal:
    """A personal account's email and password. A disabled account, or a partner user's
    disabled partner, is DISABLED only once the password is right (no telling otherwise)."""
    engine = request.app.state.db.engine
    async with engine.connect() as conn:
        user = await accounts.user_by_email(conn, email)
    verified = passwords.verify(user.password_hash if user else None, password)
    if user is None or verified is None:
        return Refusal.UNKNOWN
    identity = await _user_identity(request, user.id, user.role, user.tenant_id, user)
    if user.disabled_at is not None or identity is None:
        return Refusal.DISABLED
    async with engine.begin() as conn:
        await accounts.signed_in(conn, user.id, verified.new_hash)
    return identity


async def user_identity(request: Request, user_id: int) -> Identity | Refusal:
    """A personal account another way vouched for (an OIDC provider): its identity, DISABLED
    when it or its partner is disabled, and its sign-in time noted."""
    engine = request.app.state.db.engine
    async with engine.connect() as conn:
        user = await accounts.user_by_id(conn, user_id)
    if user is None:
        return Refusal.UNKNOWN
    identity = await _user_identity(request, user.id, user.role, user.tenant_id, user)
    if user.disabled_at is not None or identity is None:
        return Refusal.DISABLED
    async with engine.begin() as conn:
        await accounts.signed_in(conn, user.id, None)
    return identity


async def _user_identity(
    request: Request,
    user_id: int,
    role: str | None,
    tenant_id: int | None,
    user: accounts.UserRow | accounts.SessionRow,
) -> Identity | None:
    """A user's identity; None when its role is unknown or its partner is disabled."""
    if role not in tuple(Role):
        return None
    principal = Principal(Role(role), tenant_id, user_id)
    if principal.role is Role.PARTNER:
        if tenant_id is None:
            return None
        async with request.app.state.db.engine.connect() as conn:
            holder = await repository.key_holder_by_id(conn, tenant_id)
        if holder is None or not holder.enabled:
            return None
    return Identity(principal, user.display_name, None, SessionKind.USER, user.email)


def session_key(request: Request) -> bytes:
    """The key CSRF tokens are derived with: from the admin token, so every instance agrees
    on it without shared state."""
    context = b"postback browser session v3"
    return hmac.new(request.app.state.admin_token.encode(), context, hashlib.sha256).digest()


async def session_identity(request: Request, token: str) -> Identity | None:
    """Who a browser session's token stands for, checked against the database on every
    request (once per request: kept on the request's state)."""
    cache: dict[str, Identity | None] = getattr(request.state, "session_identities", {})
    if token in cache:
        return cache[token]
    found = await _session_identity(request, token)
    request.state.session_identities = {**cache, token: found}
    return found


async def _session_identity(request: Request, token: str) -> Identity | None:
    settings: Settings = request.app.state.settings
    engine = request.app.state.db.engine
    row = await sessions.find(engine, token, settings.session_idle_minutes)
    if row is None:
        return None
    kind = SessionKind(row.kind)
    if kind is SessionKind.ADMIN_TOKEN:
        admin = admin_identity(request.app.state.admin_token)
        matches = row.credential is not None and admin.key is not None
        return admin if matches and secrets_equal(str(row.credential), str(admin.key)) else None
    if kind is SessionKind.PARTNER_KEY and row.tenant_id is not None:
        return await recognise(request, row.tenant_id, row.credential)
    if kind is SessionKind.USER and row.user_id is not None and row.disabled_at is None:
        return await _user_identity(request, row.user_id, row.role, row.user_tenant_id, row)
    return None


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated()
    return token.strip()


async def get_principal(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Principal:
    """A bearer token when one is sent; else the browser's session, with its CSRF token in
    X-CSRF-Token for anything but a read (so a signed-in browser can call the API)."""
    if request.headers.get("authorization"):
        return await _bearer_principal(request)
    token = request.cookies.get(COOKIE) or ""
    identity = await session_identity(request, token) if sessions.is_token(token) else None
    if identity is None:
        raise NotAuthenticated("sign in at /admin or /dashboard, or send Authorization: Bearer")
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not secrets_equal(given, sessions.csrf_for(session_key(request), token)):
            raise Forbidden("a signed-in browser must send its CSRF token in X-CSRF-Token", "csrf")
    return identity.principal


async def _bearer_principal(request: Request) -> Principal:
    found = await identify(request, _bearer(request))
    if found is Refusal.UNKNOWN:
        raise NotAuthenticated("the token is not valid")
    if found is Refusal.DISABLED:
        raise Forbidden("this partner is disabled", "authorization")
    return found.principal


async def require_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.may_change:
        raise Forbidden("needs an admin: the admin token or an admin's account", "authorization")
    return principal


async def require_every_partner(
    principal: Annotated[Principal, Depends(get_principal)],
) -> Principal:
    if not principal.sees_every_partner:
        raise Forbidden("needs an admin or an analyst", "authorization")
    return principal


async def reads_every_partner_changes_admin(
    request: Request, principal: Annotated[Principal, Depends(get_principal)]
) -> Principal:
    """Reading: an admin or an analyst; anything else: an admin."""
    if request.method in SAFE_METHODS:
        return await require_every_partner(principal)
    return await require_admin(principal)


Auth = Annotated[Principal, Depends(get_principal)]
AdminAuth = Annotated[Principal, Depends(require_admin)]
EveryPartnerAuth = Annotated[Principal, Depends(require_every_partner)]
