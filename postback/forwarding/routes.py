"""Forwards (admin token) and their delivery log (admin, or the partner's own API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from postback.audit.routes import Audited
from postback.auth import AdminAuth, Auth
from postback.deps import AppSettings, Session
from postback.errors import NotFound
from postback.forwarding import service
from postback.forwarding.schemas import (
    DeliveryOut,
    DeliveryPage,
    ForwardIn,
    ForwardOut,
    ForwardSaved,
    ForwardUpdate,
    Resent,
    State,
    TestSent,
)
from postback.forwarding.sender import Sender
from postback.forwarding.service import Policy
from postback.settings import Settings
from postback.tenants.schemas import NO_NUL

router = APIRouter(prefix="/api/tenants/{tenant_id}", tags=["forwarding"])

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


def policy_of(settings: Settings) -> Policy:
    return Policy(
        retry_seconds=settings.forward_retry_delays,
        allow_private=settings.forward_allow_private,
        flag_after=settings.forward_flag_after,
        zone=settings.timezone,
    )


def _policy(settings: AppSettings) -> Policy:
    return policy_of(settings)


Rules = Annotated[Policy, Depends(_policy)]


def _own_tenant(tenant_id: Id, principal: Auth) -> int:
    """The admin reads any partner's log; a partner's API key only its own (others: 404)."""
    if not principal.sees_every_partner and principal.tenant_id != tenant_id:
        raise NotFound(f"no partner with id {tenant_id}", "tenant_id")
    return tenant_id


OwnTenant = Annotated[int, Depends(_own_tenant)]


@router.get("/forwards", response_model=list[ForwardOut])
async def list_forwards(tenant_id: OwnTenant, session: Session, policy: Rules) -> list[ForwardOut]:
    """The partner's forwards, with their deliveries by state."""
    return await service.list_forwards(session, tenant_id, policy)


@router.post("/forwards", response_model=ForwardSaved, status_code=status.HTTP_201_CREATED)
async def create_forward(
    tenant_id: Id, data: ForwardIn, session: Audited, policy: Rules, _: AdminAuth
) -> ForwardSaved:
    """Send the partner's conversions to a URL; a signing secret is shown this once."""
    return await service.create_forward(session, tenant_id, data, policy)


@router.get("/forwards/{forward_id}", response_model=ForwardOut)
async def get_forward(
    tenant_id: OwnTenant, forward_id: Id, session: Session, policy: Rules
) -> ForwardOut:
    """One forward."""
    return await service.get_forward(session, tenant_id, forward_id, policy)


@router.patch("/forwards/{forward_id}", response_model=ForwardSaved)
async def update_forward(
    tenant_id: Id,
    forward_id: Id,
    data: ForwardUpdate,
    session: Audited,
    policy: Rules,
    _: AdminAuth,
) -> ForwardSaved:
    """Change the fields sent (`enabled: false` pauses: nothing new fires, queued ones wait)."""
    return await service.update_forward(session, tenant_id, forward_id, data, policy)


@router.post("/forwards/{forward_id}/rotate-secret", response_model=ForwardSaved)
async def rotate_secret(
    tenant_id: Id, forward_id: Id, session: Audited, policy: Rules, _: AdminAuth
) -> ForwardSaved:
    """A new signing secret, shown this once; the old one stops at once."""
    return await service.rotate_signing_secret(session, tenant_id, forward_id, policy)


@router.delete("/forwards/{forward_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_forward(tenant_id: Id, forward_id: Id, session: Audited, _: AdminAuth) -> Response:
    """Remove the forward, with its delivery log and anything still waiting."""
    await service.delete_forward(session, tenant_id, forward_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/forwards/{forward_id}/resend", response_model=Resent)
async def resend_dead(tenant_id: Id, forward_id: Id, session: Audited, _: AdminAuth) -> Resent:
    """Every dead delivery of the forward queued again, with a fresh retry schedule."""
    return Resent(requeued=await service.resend(session, tenant_id, forward_id))


@router.post("/forwards/{forward_id}/test", response_model=TestSent)
async def send_test(
    tenant_id: Id,
    forward_id: Id,
    request: Request,
    session: Session,
    policy: Rules,
    _: AdminAuth,
) -> TestSent:
    """Send a sample conversion (TEST-0001) now and show the answer; nothing is kept."""
    sender: Sender = request.app.state.sender
    return await service.send_test(session, tenant_id, forward_id, sender, policy)


@router.get("/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    tenant_id: OwnTenant,
    session: Session,
    conversion_id: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
    state: State | None = None,
    forward_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    attempts: bool = False,
) -> DeliveryPage:
    """The delivery log, newest first; `attempts=true` adds every attempt."""
    return await service.list_deliveries(
        session,
        tenant_id,
        forward_id=forward_id,
        conversion_id=conversion_id,
        state=state,
        before_id=before_id,
        limit=limit,
        with_attempts=attempts,
    )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut)
async def get_delivery(tenant_id: OwnTenant, delivery_id: Id, session: Session) -> DeliveryOut:
    """One delivery with every attempt: status, latency and the first bytes of the answer."""
    return await service.get_delivery(session, tenant_id, delivery_id)


@router.post("/deliveries/{delivery_id}/resend", response_model=Resent)
async def resend_one(tenant_id: Id, delivery_id: Id, session: Audited, _: AdminAuth) -> Resent:
    """One dead delivery queued again."""
    found = await service.get_delivery(session, tenant_id, delivery_id)
    count = await service.resend(session, tenant_id, found.forward_id, delivery_id)
    return Resent(requeued=count)
