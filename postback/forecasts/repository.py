"""What forecasts read: partners, and a partner's daily totals by local day of its reporting
timezone, from the rollups (day cells where built, hour cells otherwise: never the raw table
beyond the window's edges)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from postback.rollups.repository import Window, grouped


@dataclass(frozen=True, slots=True)
class Partner:
    tenant_id: int
    slug: str
    name: str
    timezone: str | None


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    conversions: float
    payouts_usd: float


async def partners(
    session: AsyncSession | AsyncConnection, *, tenant_id: int | None, slug: str | None
) -> list[Partner]:
    rows = await session.execute(
        text("""
SELECT id, slug, name, timezone FROM tenant
WHERE (CAST(:tenant_id AS bigint) IS NULL OR id = :tenant_id)
  AND (CAST(:slug AS text) IS NULL OR slug = :slug)
ORDER BY is_default DESC, slug"""),
        {"tenant_id": tenant_id, "slug": slug},
    )
    return [Partner(r.id, r.slug, r.name, r.timezone) for r in rows]


async def daily(
    session: AsyncSession | AsyncConnection,
    tenant_id: int,
    zone: ZoneInfo,
    first: date,
    end: date,
) -> list[Day]:
    """Every local day in [first, end), zeros included."""
    start = datetime.combine(first, time(), tzinfo=zone)
    stop = datetime.combine(end, time(), tzinfo=zone)
    rows = await grouped(session, Window.of(tenant_id, start, stop, zone), ["local_day"])
    found = {row.local_day.date(): row for row in rows}
    days = []
    day = first
    while day < end:
        row = found.get(day)
        days.append(
            Day(
                day,
                float(row.conversions) if row else 0.0,
                float(row.payouts_usd) if row else 0.0,
            )
        )
        day += timedelta(days=1)
    return days
