"""The server-side store of browser sessions: the cookie carries a random token, the
`sign_in_session` table its SHA-256 with who it stands for, when it ends and whether it was
revoked. Each call is its own short transaction on the app's engine (reading who is signed
in happens before a request's own unit of work starts)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from postback.accounts import repository
from postback.accounts.models import SessionKind
from postback.accounts.repository import SessionRow

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
USER_AGENT_CHARS = 300


@dataclass(frozen=True, slots=True)
class Opening:
    """Who a new session stands for, and where it was opened from."""

    kind: SessionKind
    user_id: int | None = None
    tenant_id: int | None = None
    credential: str | None = None
    ip: str | None = None
    user_agent: str | None = None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_token(value: object) -> bool:
    return isinstance(value, str) and TOKEN.fullmatch(value) is not None


def id_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(key: bytes, token: str) -> str:
    """The CSRF token of a session: derived from its token with the server's key, so it need
    not be stored, differs for every session and cannot be made without the key."""
    digest = hmac.new(key, b"csrf:" + token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def open_session(engine: AsyncEngine, opening: Opening, hours: float) -> str:
    """A new session's token (its hash stored, the token itself only in the cookie)."""
    token = new_token()
    values = {
        "id_hash": id_hash(token),
        "kind": opening.kind.value,
        "user_id": opening.user_id,
        "tenant_id": opening.tenant_id,
        "credential": opening.credential,
        "ip": opening.ip,
        "user_agent": (opening.user_agent or "")[:USER_AGENT_CHARS] or None,
    }
    async with engine.begin() as conn:
        await repository.insert_session(conn, values, hours)
    return token


async def find(engine: AsyncEngine, token: str, idle_minutes: float) -> SessionRow | None:
    """The live session of this token, its last-seen time moved on (at most once a minute,
    so a busy page costs no write per request)."""
    async with engine.connect() as conn:
        found = await repository.live_session(conn, id_hash(token), idle_minutes)
    if found is not None and found.stale:
        async with engine.begin() as conn:
            await repository.touch_session(conn, id_hash(token))
    return found


async def revoke(engine: AsyncEngine, token: str) -> None:
    async with engine.begin() as conn:
        await repository.revoke_session(conn, id_hash(token))
