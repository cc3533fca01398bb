"""All SQL of the tenants domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from postback.tenants.models import Tenant


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return bool(await session.scalar(select(exists().where(Tenant.slug == slug))))


async def token_taken(session: AsyncSession, kind: str, digest: str) -> bool:
    column = getattr(Tenant, f"{kind}_hash")
    return bool(await session.scalar(select(exists().where(column == digest))))


async def list_tenants(session: AsyncSession) -> Sequence[Tenant]:
    return (await session.scalars(select(Tenant).order_by(Tenant.id))).all()
