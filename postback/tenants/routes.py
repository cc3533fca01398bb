"""Managing partners (tenants): an admin changes them; an admin or an analyst reads them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from postback.audit.routes import Audited
from postback.auth import reads_every_partner_changes_admin
from postback.deps import AppSettings, Session
from postback.tenants import service
from postback.tenants.directory import TenantDirectory
from postback.tenants.schemas import (
    PostbackUrl,
    Rotated,
    RotateIn,
    TenantCreate,
    TenantCreated,
    TenantOut,
    TenantUpdate,
)

# Every route here, including any added later: reads need an admin or an analyst, anything
# else an admin.
router = APIRouter(
    prefix="/api/tenants",
    tags=["tenants"],
    dependencies=[Depends(reads_every_partner_changes_admin)],
)

TenantId = Annotated[int, Path(ge=1, le=2**63 - 1)]


async def _refresh_directory_on_commit(request: Request, session: Session) -> None:
    """Ingestion resolves tokens from a cache: drop it once the change is committed."""
    directory: TenantDirectory = request.app.state.directory

    def invalidate(_: OrmSession) -> None:
        directory.invalidate()

    event.listen(session.sync_session, "after_commit", invalidate)


Changes = Depends(_refresh_directory_on_commit)


def public_base(request: Request, settings: AppSettings) -> str:
    """POSTBACK_PUBLIC_URL, else the address this request came to."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


PublicBase = Annotated[str, Depends(public_base)]


@router.get("", response_model=list[TenantOut])
async def list_tenants(session: Session, settings: AppSettings) -> list[TenantOut]:
    """Every partner, with today's conversions and its last postback."""
    return await service.list_tenants(session, settings.timezone)


@router.post(
    "",
    response_model=TenantCreated,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Changes],
)
async def create_tenant(
    data: TenantCreate, session: Audited, settings: AppSettings, base: PublicBase
) -> TenantCreated:
    """Create a partner; its secrets and postback URL are shown this once."""
    return await service.create(session, data, default_zone=settings.timezone, base=base)


@router.get("/{tenant_id}", response_model=TenantOut)
async def get_tenant(tenant_id: TenantId, session: Session, settings: AppSettings) -> TenantOut:
    """One partner."""
    return await service.get_tenant(session, tenant_id, settings.timezone)


@router.patch("/{tenant_id}", response_model=TenantOut, dependencies=[Changes])
async def update_tenant(
    tenant_id: TenantId, data: TenantUpdate, session: Audited, settings: AppSettings
) -> TenantOut:
    """Change the fields sent; a token set here is not shown back."""
    return await service.update(session, tenant_id, data, default_zone=settings.timezone)


@router.post("/{tenant_id}/disable", response_model=TenantOut, dependencies=[Changes])
async def disable_tenant(tenant_id: TenantId, session: Audited, settings: AppSettings) -> TenantOut:
    """Refuse the partner's postbacks (kept as rejections) and its API key until enabled."""
    return await service.enable(session, tenant_id, False, default_zone=settings.timezone)


@router.post("/{tenant_id}/enable", response_model=TenantOut, dependencies=[Changes])
async def enable_tenant(tenant_id: TenantId, session: Audited, settings: AppSettings) -> TenantOut:
    """Accept the partner's postbacks and API key again."""
    return await service.enable(session, tenant_id, True, default_zone=settings.timezone)


@router.post("/{tenant_id}/rotate", response_model=Rotated, dependencies=[Changes])
async def rotate_secret(
    tenant_id: TenantId, data: RotateIn, session: Audited, settings: AppSettings, base: PublicBase
) -> Rotated:
    """Replace the API key or a token; the new one is shown this once, the old one stops."""
    return await service.rotate(
        session, tenant_id, data.kind, data.value, default_zone=settings.timezone, base=base
    )


@router.get("/{tenant_id}/postback-url", response_model=PostbackUrl)
async def postback_url(tenant_id: TenantId, session: Session, base: PublicBase) -> PostbackUrl:
    """The Involve Asia postback URL with every macro and a placeholder for the token."""
    return await service.postback_url_of(session, tenant_id, base)
