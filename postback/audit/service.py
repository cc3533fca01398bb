"""The audit log: every change records who made it, from where, on what, before and after.

`record` writes through the session that makes the change, so the entry commits or rolls
back with it (one place commits: the request or command wrapper); a change without its entry
cannot exist. The actor rides on that session (`act_as`, set by the request's dependency or
the CLI's transaction); a change attempted on a session without one is a programming error
and fails rather than going unrecorded.

Secrets never reach a row: values under secret-looking names are masked, and URLs keep only
what `forwarding.macros.masked` leaves of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from postback.audit import repository
from postback.audit.models import AuditEntry
from postback.audit.schemas import (
    Actor,
    ActorOut,
    AuditEntryOut,
    AuditPage,
    Filters,
    Target,
    TargetOut,
)
from postback.forwarding import macros

ACTOR_KEY = "postback.audit.actor"
MASK = "***"
# A secret replaced by a new one: the diff shows that it changed, never either value.
REPLACED = "*** (new)"
# Names whose values are secrets: the partner's tokens and API key, a forward's signing
# secret, and anything named like one (the same names forwarding masks in URLs).
SECRET_NAMES = frozenset({"api_key", "ts_token", "ts_param", "tlm_token", "signing_secret"})
USER_AGENT_KEPT = 512
BATCH_SIZE = 5_000


class NoActor(RuntimeError):
    """A change on a session nobody acts on: a route or command that forgot `act_as`."""


def act_as(session: AsyncSession, actor: Actor) -> None:
    """Every change made through `session` is recorded as `actor`'s."""
    session.info[ACTOR_KEY] = actor


def has_actor(session: AsyncSession) -> bool:
    return isinstance(session.info.get(ACTOR_KEY), Actor)


def actor_of(session: AsyncSession) -> Actor:
    actor = session.info.get(ACTOR_KEY)
    if not isinstance(actor, Actor):
        raise NoActor("a change was made on a session with no actor (audit.service.act_as)")
    return actor


def is_secret_name(name: str) -> bool:
    return name in SECRET_NAMES or macros.secret_name(name)


def masked(value: Any, name: str = "") -> Any:
    """`value` as JSON an audit entry may keep: secrets as ***, URLs masked, money as text."""
    if name and is_secret_name(name) and value not in (None, "", False, REPLACED):
        return value if value is True else MASK
    if isinstance(value, Mapping):
        return {str(k): masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [masked(item) for item in value]
    if isinstance(value, str) and "://" in value:
        return macros.masked(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def changed(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value differs, on each side."""
    names = [name for name in after if before.get(name) != after.get(name)]
    names += [name for name in before if name not in after]
    return {n: before.get(n) for n in names}, {n: after.get(n) for n in names}


async def record(
    session: AsyncSession,
    action: str,
    target: Target,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """One entry for the change just made through `session`, in its transaction."""
    actor = actor_of(session)
    await repository.insert(
        session,
        {
            "actor_kind": actor.kind,
            "actor_label": actor.label,
            "actor_user_id": actor.user_id,
            "client_ip": actor.client_ip,
            "user_agent": (actor.user_agent or "")[:USER_AGENT_KEPT] or None,
            "action": action,
            "target_kind": target.kind,
            "target_id": None if target.id is None else str(target.id),
            "target_name": target.name,
            "tenant_id": target.tenant_id,
            "before": masked(before) if before is not None else None,
            "after": masked(after) if after is not None else None,
        },
    )


def entry_out(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        id=entry.id,
        at=entry.created_at,
        actor=ActorOut(
            kind=entry.actor_kind,
            label=entry.actor_label,
            user_id=entry.actor_user_id,
        ),
        client_ip=entry.client_ip,
        user_agent=entry.user_agent,
        action=entry.action,
        target=TargetOut(
            kind=entry.target_kind,
            id=entry.target_id,
            name=entry.target_name,
            tenant_id=entry.tenant_id,
        ),
        before=entry.before,
        after=entry.after,
    )


async def list_entries(session: AsyncSession, where: Filters, limit: int) -> AuditPage:
    """A page of entries newest first; `next_before_id` continues it."""
    rows = await repository.entries(session, where, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[entry_out(row) for row in rows],
        next_before_id=rows[-1].id if more and rows else None,
    )


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One field of an entry as the page shows it: its value before and after."""

    field: str
    before: Any
    after: Any


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[DiffLine]:
    """The fields of an entry in a readable order: after's, then those only before had."""
    before, after = before or {}, after or {}
    names = list(after) + [name for name in before if name not in after]
    return [DiffLine(name, before.get(name), after.get(name)) for name in names]


async def prune(
    conn: AsyncConnection, *, now: datetime, days: int, batch_size: int = BATCH_SIZE
) -> int:
    """Delete entries older than `days` in batches (each its own transaction on an
    autocommit connection); how many went."""
    cutoff = now - timedelta(days=days)
    total = 0
    while True:
        deleted = await repository.delete_older(conn, cutoff, batch_size)
        total += deleted
        if deleted < batch_size:
            return total
