"""Who is asking: the admin (every tenant) or one tenant through its API key.

`identify` is the one way a token becomes a principal, for the API's bearer tokens and for
the browser sign-in forms alike (postback/web/session.py); `recognise` checks a browser
session's partner against the database on every request."""

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

from postback.errors import Forbidden, NotAuthenticated
from postback.security import hash_secret, secrets_equal
from postback.settings import Settings
from postback.tenants import repository
from postback.tenants.repository import KeyHolder

ADMIN_TOKEN_FILE = "admin_token"  # noqa: S105 (a file name)
# Declares the scheme in the API docs (so Swagger UI can send it); _bearer does the checking.
BEARER = HTTPBearer(auto_error=False, description="The admin token or a partner's API key")


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
    """None as tenant_id means the admin, who sees every tenant."""

    tenant_id: int | None

    @property
    def is_admin(self) -> bool:
        return self.tenant_id is None


ADMIN = Principal(tenant_id=None)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a token (or a browser session) stands for: the principal, the partner's name, and
    the fingerprint of its API key (None for the admin)."""

    principal: Principal
    name: str | None = None
    key: str | None = None


ADMIN_IDENTITY = Identity(ADMIN)


class Refusal(Enum):
    """Why a token stands for no one: unknown, or the partner it names is disabled."""

    UNKNOWN = "unknown"
    DISABLED = "disabled"


def key_fingerprint(admin_token: str, api_key_hash: str) -> str:
    """A partner's API key as a session keeps it: non-reversible without the admin token,
    and different once the key is rotated."""
    return hmac.new(admin_token.encode(), api_key_hash.encode(), hashlib.sha256).hexdigest()[:32]


def _identity(admin_token: str, holder: KeyHolder) -> Identity:
    assert holder.api_key_hash is not None
    return Identity(
        Principal(tenant_id=holder.id),
        holder.name,
        key_fingerprint(admin_token, holder.api_key_hash),
    )


async def identify(request: Request, token: str) -> Identity | Refusal:
    """The one way a token becomes a principal: the admin token, or a partner's API key."""
    admin_token: str = request.app.state.admin_token
    if secrets_equal(token, admin_token):
        return ADMIN_IDENTITY
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


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated()
    return token.strip()


async def get_principal(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Principal:
    found = await identify(request, _bearer(request))
    if found is Refusal.UNKNOWN:
        raise NotAuthenticated("the token is not valid")
    if found is Refusal.DISABLED:
        raise Forbidden("this partner is disabled", "authorization")
    return found.principal


async def require_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("needs the admin token", "authorization")
    return principal


Auth = Annotated[Principal, Depends(get_principal)]
AdminAuth = Annotated[Principal, Depends(require_admin)]
