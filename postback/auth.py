"""Who is asking: the admin (every tenant) or one tenant through its API key."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from postback.errors import Forbidden, NotAuthenticated
from postback.security import hash_secret, secrets_equal
from postback.settings import Settings
from postback.tenants.models import Tenant

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


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated()
    return token.strip()


async def get_principal(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Principal:
    token = _bearer(request)
    if secrets_equal(token, request.app.state.admin_token):
        return Principal(tenant_id=None)
    async with request.app.state.db.engine.connect() as conn:
        row = (
            await conn.execute(
                select(Tenant.id, Tenant.enabled).where(Tenant.api_key_hash == hash_secret(token))
            )
        ).first()
    if row is None:
        raise NotAuthenticated("the token is not valid")
    if not row.enabled:
        raise Forbidden("this partner is disabled", "authorization")
    return Principal(tenant_id=row.id)


async def require_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("needs the admin token", "authorization")
    return principal


Auth = Annotated[Principal, Depends(get_principal)]
AdminAuth = Annotated[Principal, Depends(require_admin)]
