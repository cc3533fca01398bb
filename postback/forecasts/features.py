"""`postback export features`: daily partner × offer features for training models elsewhere,
as one Parquet file.

One row per partner × offer × local day (the partner's reporting timezone) from the offer's
first active day in the range through the last day, days without traffic included as zeros,
so lags are plain shifts:

- volumes: `conversions` (first rows), `duplicates`, `approved` (approved or paid),
  `status_rejected` (the network's status `rejected`), by conversion day; `rejections`:
  postbacks refused by validation, by received day (attributed to the offer their payload
  named; those naming none have a null `offer_id`);
- amounts (USD, MYR as float64): `sales_usd`, `payouts_usd`, `payouts_myr`;
- rates (null when their denominator is 0): `approval_rate` = approved / conversions,
  `status_rejected_rate` = status_rejected / conversions, `duplicate_rate` = duplicates /
  (conversions + duplicates), `rejection_rate` = rejections / (conversions + duplicates +
  rejections);
- lags: `conversions_lag1`, `conversions_lag7`, `payouts_usd_lag1`, `payouts_usd_lag7` (null
  before the offer's first day in what was read: the range and the 7 days before it);
- calendar: `weekday` (0 Monday … 6 Sunday), `is_weekend`.

Everything comes from the rollups (exact, also for what the retention removed) and the
rejections' (tenant_id, received_at) index.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from postback.forecasts import repository
from postback.rollups.repository import KEYS, SUMS, Window

LAGS = (1, 7)
FILE_NAME = "features.parquet"
SCHEMA = pa.schema(
    [
        ("tenant", pa.string()),
        ("tenant_id", pa.int64()),
        ("offer_id", pa.string()),
        ("day", pa.date32()),
        ("timezone", pa.string()),
        ("weekday", pa.int8()),
        ("is_weekend", pa.bool_()),
        ("conversions", pa.int64()),
        ("duplicates", pa.int64()),
        ("approved", pa.int64()),
        ("status_rejected", pa.int64()),
        ("rejections", pa.int64()),
        ("sales_usd", pa.float64()),
        ("payouts_usd", pa.float64()),
        ("payouts_myr", pa.float64()),
        ("approval_rate", pa.float64()),
        ("status_rejected_rate", pa.float64()),
        ("duplicate_rate", pa.float64()),
        ("rejection_rate", pa.float64()),
        ("conversions_lag1", pa.int64()),
        ("conversions_lag7", pa.int64()),
        ("payouts_usd_lag1", pa.float64()),
        ("payouts_usd_lag7", pa.float64()),
    ]
)
COUNTS = ("conversions", "duplicates", "approved", "status_rejected", "rejections")
AMOUNTS = ("sales_usd", "payouts_usd", "payouts_myr")


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    rows: int
    partners: int


def _zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


async def _cells(conn: AsyncConnection, window: Window) -> list[Any]:
    """The rollups' sums per offer × local day, days with duplicates only included (the
    dashboard's `grouped` leaves out groups without a conversion)."""
    sql = (
        f"SELECT {KEYS['offer_id']} AS offer_id, {KEYS['local_day']} AS local_day, {SUMS}"
        f" FROM {window.cells()} GROUP BY 1, 2"
    )
    return list(await conn.execute(text(sql), window.params()))


async def _rejections(
    conn: AsyncConnection, tenant_id: int, zone: ZoneInfo, start: datetime, end: datetime
) -> list[Any]:
    rows = await conn.execute(
        text("""
SELECT nullif(payload->>'offer_id', '') AS offer_id,
       CAST(timezone(:zone, received_at) AS date) AS day, count(*) AS n
FROM rejection
WHERE tenant_id = :tenant_id AND received_at >= :start AND received_at < :end
GROUP BY 1, 2"""),
        {"zone": zone.key, "tenant_id": tenant_id, "start": start, "end": end},
    )
    return list(rows)


async def first_day(conn: AsyncConnection, tenant_id: int, zone: ZoneInfo) -> date | None:
    """The partner's first day with a conversion (the rollups' first hour)."""
    row = (
        await conn.execute(
            text("SELECT min(hour) AS first FROM conversion_hourly WHERE tenant_id = :t"),
            {"t": tenant_id},
        )
    ).one()
    raw = (
        await conn.execute(
            text("SELECT min(occurred_at) AS first FROM conversion WHERE tenant_id = :t"),
            {"t": tenant_id},
        )
    ).one()
    moments = [m for m in (row.first, raw.first) if m is not None]
    return min(moments).astimezone(zone).date() if moments else None


async def partner_rows(
    conn: AsyncConnection,
    partner: repository.Partner,
    zone: ZoneInfo,
    since: date | None,
    until: date,
) -> list[dict[str, Any]]:
    """One partner's feature rows for the local days [since, until]."""
    begin = since or await first_day(conn, partner.tenant_id, zone)
    if begin is None or begin > until:
        return []
    read_from = begin - timedelta(days=max(LAGS))
    start = datetime.combine(read_from, time(), tzinfo=zone)
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=zone)
    cells: dict[tuple[str | None, date], dict[str, float]] = defaultdict(
        lambda: dict.fromkeys(COUNTS + AMOUNTS, 0.0)
    )
    for row in await _cells(conn, Window.of(partner.tenant_id, start, end, zone)):
        cell = cells[(row.offer_id, row.local_day.date())]
        cell["conversions"] += row.conversions
        cell["duplicates"] += row.duplicates
        cell["approved"] += row.approved
        cell["status_rejected"] += row.rejected
        cell["sales_usd"] += float(row.sales_usd)
        cell["payouts_usd"] += float(row.payouts_usd)
        cell["payouts_myr"] += float(row.payouts_myr)
    for row in await _rejections(conn, partner.tenant_id, zone, start, end):
        cells[(row.offer_id, row.day)]["rejections"] += row.n
    first_active: dict[str | None, date] = {}
    for (offer, day), cell in cells.items():
        if any(cell.values()) and (offer not in first_active or day < first_active[offer]):
            first_active[offer] = day
    out = []
    empty = dict.fromkeys(COUNTS + AMOUNTS, 0.0)
    for offer, first in sorted(first_active.items(), key=lambda item: (item[0] is None, item[0])):
        day = max(first, begin)
        while day <= until:
            cell = cells.get((offer, day), empty)
            lagged: dict[str, float | None] = {}
            for lag in LAGS:
                back = day - timedelta(days=lag)
                known = back >= first
                before = cells.get((offer, back), empty)
                lagged[f"conversions_lag{lag}"] = int(before["conversions"]) if known else None
                lagged[f"payouts_usd_lag{lag}"] = before["payouts_usd"] if known else None
            conversions, duplicates = cell["conversions"], cell["duplicates"]
            out.append(
                {
                    "tenant": partner.slug,
                    "tenant_id": partner.tenant_id,
                    "offer_id": offer,
                    "day": day,
                    "timezone": zone.key,
                    "weekday": day.weekday(),
                    "is_weekend": day.weekday() >= 5,
                    **{name: int(cell[name]) for name in COUNTS},
                    **{name: round(cell[name], 6) for name in AMOUNTS},
                    "approval_rate": _ratio(cell["approved"], conversions),
                    "status_rejected_rate": _ratio(cell["status_rejected"], conversions),
                    "duplicate_rate": _ratio(duplicates, conversions + duplicates),
                    "rejection_rate": _ratio(
                        cell["rejections"], conversions + duplicates + cell["rejections"]
                    ),
                    **lagged,
                }
            )
            day += timedelta(days=1)
    return out


async def export(
    conn: AsyncConnection,
    out: Path,
    *,
    default_zone: str,
    since: date | None = None,
    until: date | None = None,
    partner: str | None = None,
) -> Exported:
    """Write DIR/features.parquet (replaced whole, through a temporary file)."""
    partners = await repository.partners(conn, tenant_id=None, slug=partner)
    rows: list[dict[str, Any]] = []
    for p in partners:
        zone = _zone(p.timezone, default_zone)
        last = until or datetime.now(zone).date() - timedelta(days=1)
        rows += await partner_rows(conn, p, zone, since, last)
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    target = await asyncio.to_thread(_write, out, table)
    return Exported(target, len(rows), len({r["tenant_id"] for r in rows}))


def _write(out: Path, table: pa.Table) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / FILE_NAME
    temporary = out / (FILE_NAME + ".partial")
    pq.write_table(table, temporary)
    temporary.replace(target)
    return target
