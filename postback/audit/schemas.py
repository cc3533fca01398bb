"""Who acts (`Actor`), on what (`Target`), and the audit log as the API shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

# admin_token: the admin token (a script, or the admin pages signed in with it);
# api_key: a partner's own API key; user: a personal account; cli: `postback …` on the server.
ActorKind = Literal["admin_token", "api_key", "user", "cli"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change and from where. `label` is what a reader recognises: "admin token",
    the partner's name, the user's email, the OS user of a CLI command."""

    kind: ActorKind
    label: str
    user_id: int | None = None
    client_ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """What a change concerns: a kind (`tenant`, `forward`, …), its id and a readable name,
    and the partner it belongs to (None when it belongs to none)."""

    kind: str
    id: int | str | None
    name: str | None = None
    tenant_id: int | None = None


@dataclass(frozen=True, slots=True)
class Filters:
    """The log's filters: a partner (id), an actor label, an action prefix, a target
    (`kind` or `kind:id`), a time range, and the cursor (entries older than `before_id`)."""

    tenant_id: int | None = None
    actor: str | None = None
    action: str | None = None
    target_kind: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None


class ActorOut(BaseModel):
    kind: ActorKind
    label: str
    user_id: int | None


class TargetOut(BaseModel):
    kind: str
    id: str | None
    name: str | None
    tenant_id: int | None


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: ActorOut
    client_ip: str | None
    user_agent: str | None
    action: str
    target: TargetOut
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    # Send as before_id for the next (older) page; None on the last page.
    next_before_id: int | None
