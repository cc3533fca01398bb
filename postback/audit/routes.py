"""`GET /api/audit` (admin token only), and `Audited`: the session a changing route works
on, carrying the actor its changes are recorded as.

A partner's API key does not read the audit log, not even entries about its own partner:
the entries name the admin's actions and addresses (docs/audit.md)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from postback.accounts.models import SessionKind
from postback.audit import service
from postback.audit.schemas import Actor, AuditPage, Filters
from postback.auth import AdminAuth, Identity, Refusal, identify
from postback.conversions.routes import PartnerSlug, text_filter
from postback.conversions.service import parse_moment
from postback.deps import AppSettings, Session, SingleValues, StrictQuery
from postback.errors import InvalidInput, NotFound
from postback.tenants import repository as tenants
from postback.web.session import browser_identity
from postback.web.throttle import client_address

router = APIRouter(prefix="/api/audit", tags=["audit"])

ADMIN_TOKEN_LABEL = "admin token"  # noqa: S105 (a label, not the token)


def actor_of(identity: Identity, request: Request) -> Actor:
    """The actor an identity acts as, with where the request came from."""
    ip, agent = client_address(request), request.headers.get("user-agent")
    if identity.kind is SessionKind.USER:
        label = identity.email or identity.name or f"user {identity.principal.user_id}"
        return Actor(
            "user", label, user_id=identity.principal.user_id, client_ip=ip, user_agent=agent
        )
    if identity.kind is SessionKind.ADMIN_TOKEN:
        return Actor("admin_token", ADMIN_TOKEN_LABEL, client_ip=ip, user_agent=agent)
    label = identity.name or f"partner {identity.principal.tenant_id}"
    return Actor("api_key", label, client_ip=ip, user_agent=agent)


async def request_actor(request: Request) -> Actor | None:
    """Who the request's bearer token (or, without one, its browser session) stands for;
    None for nobody (the route's own check refuses such a request before any change)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if header:
        if scheme.lower() != "bearer" or not token.strip():
            return None
        found = await identify(request, token.strip())
        return None if isinstance(found, Refusal) else actor_of(found, request)
    identity = await browser_identity(request)
    return None if identity is None else actor_of(identity, request)


RequestActor = Annotated[Actor | None, Depends(request_actor)]


def audited_session(session: Session, actor: RequestActor) -> AsyncSession:
    """The request's session (the same one `Session` gives), its changes recorded as the
    request's actor."""
    if actor is not None:
        service.act_as(session, actor)
    return session


Audited = Annotated[AsyncSession, Depends(audited_session)]


def _target(value: str | None) -> tuple[str | None, str | None]:
    if value is None or not value.strip():
        return None, None
    kind, _, target_id = value.strip().partition(":")
    if not kind:
        raise InvalidInput("use a kind such as forward, or kind:id such as forward:12", "target")
    return kind, target_id or None


async def filters(
    session: Session,
    settings: AppSettings,
    tenant: PartnerSlug = None,
    actor: Annotated[str | None, text_filter("Who: the actor's label, exactly")] = None,
    action: Annotated[str | None, text_filter("Actions starting with this, e.g. forward.")] = None,
    target: Annotated[str | None, text_filter("kind, or kind:id, e.g. forward:12")] = None,
    since: Annotated[str | None, text_filter("From (inclusive)")] = None,
    until: Annotated[str | None, text_filter("Until (exclusive)")] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Filters:
    tenant_id = None
    if tenant is not None:
        tenant_id = await tenants.id_by_slug(session, tenant)
        if tenant_id is None:
            raise NotFound(f"no partner with slug {tenant!r}", "tenant")
    zone = ZoneInfo(settings.timezone)
    target_kind, target_id = _target(target)
    return Filters(
        tenant_id=tenant_id,
        actor=actor or None,
        action=action or None,
        target_kind=target_kind,
        target_id=target_id,
        since=parse_moment(since, "since", zone),
        until=parse_moment(until, "until", zone),
        before_id=before_id,
    )


AuditFilters = Annotated[Filters, Depends(filters)]


@router.get("", response_model=AuditPage, dependencies=[StrictQuery, SingleValues])
async def list_entries(
    session: Session,
    _: AdminAuth,
    where: AuditFilters,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    """Who changed what, newest first; `next_before_id` gives the next page."""
    return await service.list_entries(session, where, limit)
