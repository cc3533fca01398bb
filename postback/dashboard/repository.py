"""All SQL of the dashboard that is not the rollups' (postback/rollups/repository.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from postback.tenants.models import Tenant


@dataclass(frozen=True, slots=True)
class TenantInfo:
    id: int
    slug: str
    name: str
    timezone: str | None


async def tenant_by_id(
    session: AsyncSession | AsyncConnection, tenant_id: int
) -> TenantInfo | None:
    query = select(Tenant.id, Tenant.slug, Tenant.name, Tenant.timezone).where(
        Tenant.id == tenant_id
    )
    row = (await session.execute(query)).first()
    return None if row is None else TenantInfo(*row)


async def tenant_names(session: AsyncSession) -> dict[int, tuple[str, str]]:
    rows = (await session.execute(select(Tenant.id, Tenant.slug, Tenant.name))).all()
    return {row.id: (row.slug, row.name) for row in rows}


async def partner_choices(session: AsyncSession) -> Sequence[tuple[str, str]]:
    query = select(Tenant.slug, Tenant.name).order_by(Tenant.is_default.desc(), Tenant.slug)
    return [(row.slug, row.name) for row in (await session.execute(query)).all()]


FEED = """
SELECT c.id, t.slug AS tenant, c.conversion_id, c.offer_name, c.status,
       c.conversion_currency AS currency, c.usd_sale_amount AS sales_usd,
       c.usd_payout AS payouts_usd, c.occurred_at, c.received_at, c.is_duplicate AS duplicate
FROM conversion c JOIN tenant t ON t.id = c.tenant_id
WHERE c.id > :after {tenant}
ORDER BY c.id {order}
LIMIT :limit
"""


async def feed_after(
    conn: AsyncConnection, tenant_id: int | None, after: int, limit: int
) -> Sequence[dict[str, object]]:
    """Postbacks stored after id `after`, oldest first (newest `limit` when `after` is 0)."""
    tenant = "AND c.tenant_id = :tenant_id" if tenant_id is not None else ""
    order = "DESC" if after == 0 else "ASC"
    sql = FEED.format(tenant=tenant, order=order)
    params = {"after": after, "tenant_id": tenant_id, "limit": limit}
    rows = [dict(row._mapping) for row in (await conn.execute(text(sql), params)).all()]
    return rows[::-1] if after == 0 else rows
