"""The admin pages' own reads: a partner's latest postbacks and rejections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from postback.conversions.models import Conversion, Rejection

AnyRow = Row[*tuple[Any, ...]]


async def recent_conversions(session: AsyncSession, tenant_id: int, limit: int) -> Sequence[AnyRow]:
    """Newest first, through the (tenant_id, id) index."""
    query = (
        select(
            Conversion.id,
            Conversion.conversion_id,
            Conversion.offer_id,
            Conversion.offer_name,
            Conversion.status,
            Conversion.usd_sale_amount,
            Conversion.usd_payout,
            Conversion.received_at,
            Conversion.is_duplicate,
            Conversion.first_id,
        )
        .where(Conversion.tenant_id == tenant_id)
        .order_by(Conversion.id.desc())
        .limit(limit)
    )
    return (await session.execute(query)).all()


async def recent_rejections(session: AsyncSession, tenant_id: int, limit: int) -> Sequence[AnyRow]:
    """Newest first, through the (tenant_id, received_at) index."""
    query = (
        select(
            Rejection.id,
            Rejection.received_at,
            Rejection.reason,
            Rejection.errors,
            Rejection.conversion_id,
            Rejection.method,
            Rejection.source_ip,
        )
        .where(Rejection.tenant_id == tenant_id)
        .order_by(Rejection.received_at.desc(), Rejection.id.desc())
        .limit(limit)
    )
    return (await session.execute(query)).all()
