"""All SQL of the rollups: the compaction, and reading rollups plus raw edges as one table.

`conversion_hourly` holds folded cells; `conversion_hourly_delta` holds what the triggers on
`conversion` appended since the last compaction; `conversion_daily` holds the folded cells
by local day of each timezone listed in `conversion_daily_zone`. A reader adds day cells for
the whole local days of its range (when its timezone is built), hour cells for the other
whole UTC hours, the pending deltas of all those hours, and raw rows for the partial hours
at its edges, all in one statement (one snapshot), so its answer is exact whatever the
writers and the compaction are doing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

AnyRow = Row[Any]
HOUR = timedelta(hours=1)
MEASURES = (
    "conversions",
    "duplicates",
    "sales_usd",
    "sales_myr",
    "sales_local",
    "payouts_usd",
    "payouts_myr",
    "payouts_local",
)
COUNTS = ("conversions", "duplicates")
CELL = "tenant_id, hour, offer_id, status, currency, offer_name, " + ", ".join(MEASURES)
# A day cell read as a cell: its `hour` is the local midnight the day starts at.
DAY_CELL = "tenant_id, day, offer_id, status, currency, offer_name, " + ", ".join(MEASURES)
_FIRST = "CASE WHEN c.is_duplicate THEN 0 ELSE coalesce(c.{0}, 0) END"
# Raw rows shaped like cells: one per row, grouped by the outer query.
_RAW = ", ".join(
    [
        "c.tenant_id",
        # The exact time: local hours and days of any timezone come out right.
        "c.occurred_at",
        "c.offer_id",
        "c.status",
        "c.conversion_currency",
        "CASE WHEN c.is_duplicate THEN NULL ELSE c.offer_name END",
        "CASE WHEN c.is_duplicate THEN 0 ELSE 1 END",
        "CASE WHEN c.is_duplicate THEN 1 ELSE 0 END",
        *(
            _FIRST.format(column)
            for column in (
                "usd_sale_amount",
                "myr_sale_amount",
                "sale_amount_local",
                "usd_payout",
                "myr_payout",
                "payout_local",
            )
        ),
    ]
)

# Group keys a reader may ask for (never text from a request).
KEYS: Mapping[str, str] = {
    "status": "status",
    "offer_id": "offer_id",
    "currency": "currency",
    "tenant_id": "tenant_id",
    "local_hour": "date_trunc('hour', timezone(:zone, hour))",
    "local_day": "date_trunc('day', timezone(:zone, hour))",
}
# Statuses an approval counts: the network approved it (and may have paid it already).
APPROVED = ("approved", "paid")
SUMS = ", ".join(
    [
        "max(offer_name) AS offer_name",
        *(f"coalesce(sum({m}), 0){'::bigint' if m in COUNTS else ''} AS {m}" for m in MEASURES),
        "coalesce(sum(conversions) FILTER (WHERE status IN ('approved', 'paid')), 0)::bigint"
        " AS approved",
        "coalesce(sum(conversions) FILTER (WHERE status = 'rejected'), 0)::bigint AS rejected",
    ]
)


def whole_hours_align(zone: ZoneInfo, start: datetime, end: datetime) -> bool:
    """Whether UTC hours are whole hours of `zone` over the range (not so for +05:30)."""
    for moment in (start, end):
        offset = moment.astimezone(zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return False
    return True


def local_midnight(moment: datetime, zone: ZoneInfo, *, after: bool) -> datetime:
    """The start of `moment`'s local day, or with `after` the first local midnight not
    before `moment`."""
    day = moment.astimezone(zone).date()
    midnight = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    if after and midnight < moment:
        midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return midnight


@dataclass(frozen=True, slots=True)
class Window:
    """A range [start, end) split into whole local days (day cells), other whole UTC hours
    (hour cells) and edges (raw rows)."""

    tenant_id: int | None
    start: datetime
    end: datetime
    first_hour: datetime
    last_hour: datetime
    zone: ZoneInfo
    first_day: datetime
    last_day: datetime

    @classmethod
    def of(cls, tenant_id: int | None, start: datetime, end: datetime, zone: ZoneInfo) -> Window:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        floor_start = start.replace(minute=0, second=0, microsecond=0)
        first = floor_start if floor_start == start else floor_start + HOUR
        last = end.replace(minute=0, second=0, microsecond=0)
        if first >= last or not whole_hours_align(zone, start, end):
            # No whole hour inside (or hours that are not the zone's): raw rows only.
            first = last = end
        first_day = local_midnight(first, zone, after=True)
        last_day = local_midnight(last, zone, after=False)
        if first_day >= last_day:  # no whole local day inside: hours only
            first_day = last_day = last
        return cls(tenant_id, start, end, first, last, zone, first_day, last_day)

    def params(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "first_hour": self.first_hour,
            "last_hour": self.last_hour,
            "first_day": self.first_day,
            "last_day": self.last_day,
            "tenant_id": self.tenant_id,
            "zone": self.zone.key,
        }

    def cells(self, *, days: bool = True) -> str:
        """The window as cells: day cells for whole local days (only with `days`, and when
        the zone is built; hour cells stand in otherwise), hour cells for the other whole
        hours, pending deltas for all whole hours, raw rows for the edges."""
        tenant = " AND tenant_id = :tenant_id" if self.tenant_id is not None else ""
        raw_tenant = " AND c.tenant_id = :tenant_id" if self.tenant_id is not None else ""
        hours = f"hour >= :first_hour AND hour < :last_hour{tenant}"
        if not days:
            hourly = f"SELECT {CELL} FROM conversion_hourly WHERE {hours}"
        else:
            # The middle branch runs only when the zone has no day cells (a one-time filter).
            hourly = f"""SELECT {CELL} FROM conversion_hourly
    WHERE ((hour >= :first_hour AND hour < :first_day)
        OR (hour >= :last_day AND hour < :last_hour)){tenant}
    UNION ALL
    SELECT {CELL} FROM conversion_hourly
    WHERE hour >= :first_day AND hour < :last_day{tenant}
        AND NOT EXISTS (SELECT FROM conversion_daily_zone z WHERE z.zone = :zone)
    UNION ALL
    SELECT {DAY_CELL} FROM conversion_daily
    WHERE zone = :zone AND day >= :first_day AND day < :last_day{tenant}"""
        return f"""(
    {hourly}
    UNION ALL
    SELECT {CELL} FROM conversion_hourly_delta WHERE {hours}
    UNION ALL
    SELECT {_RAW} FROM conversion c
    WHERE ((c.occurred_at >= :start AND c.occurred_at < :first_hour)
        OR (c.occurred_at >= :last_hour AND c.occurred_at < :end)){raw_tenant}
) AS cell"""


async def grouped(
    session: AsyncSession | AsyncConnection,
    window: Window,
    keys: Sequence[str] = (),
    *,
    order: str | None = None,
    limit: int | None = None,
) -> Sequence[AnyRow]:
    """Sums per group of `keys` (KEYS names); groups without a conversion are left out
    unless no key is given (then one row, the totals)."""
    expressions = [KEYS[key] for key in keys]
    select = ", ".join([*(f"{e} AS {k}" for e, k in zip(expressions, keys, strict=True)), SUMS])
    # Day cells cannot be split into hours.
    sql = f"SELECT {select} FROM {window.cells(days='local_hour' not in keys)}"
    if keys:
        ordinals = ", ".join(str(i) for i in range(1, len(keys) + 1))
        sql += f" GROUP BY {ordinals} HAVING sum(conversions) > 0"
        sql += f" ORDER BY {order or ', '.join(keys)}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return (await session.execute(text(sql), window.params())).all()


# Folds every delta visible now into the hourly rollup, and into the day cells of every built
# zone, in one statement: the deltas a concurrent writer has not committed yet stay for the
# next round, and a reader sees either the deltas or their fold, never both, never neither.
COMPACT = f"""
WITH moved AS (
    DELETE FROM conversion_hourly_delta RETURNING {CELL}
), folded AS (
    SELECT tenant_id, hour, offer_id, status, currency, max(offer_name) AS offer_name,
           {", ".join(f"sum({m}) AS {m}" for m in MEASURES)}
    FROM moved GROUP BY tenant_id, hour, offer_id, status, currency
), upserted AS (
    INSERT INTO conversion_hourly AS r ({CELL})
    SELECT {CELL} FROM folded
    ON CONFLICT ON CONSTRAINT uq_conversion_hourly_cell DO UPDATE SET
        offer_name = greatest(r.offer_name, excluded.offer_name),
        {", ".join(f"{m} = r.{m} + excluded.{m}" for m in MEASURES)}
    RETURNING r.id, r.conversions, r.duplicates
), days AS (
    INSERT INTO conversion_daily AS r (zone, {DAY_CELL})
    SELECT z.zone, f.tenant_id, date_trunc('day', f.hour, z.zone), f.offer_id, f.status,
           f.currency, max(f.offer_name), {", ".join(f"sum(f.{m})" for m in MEASURES)}
    FROM folded f CROSS JOIN conversion_daily_zone z
    GROUP BY z.zone, f.tenant_id, 3, f.offer_id, f.status, f.currency
    ON CONFLICT ON CONSTRAINT uq_conversion_daily_cell DO UPDATE SET
        offer_name = greatest(r.offer_name, excluded.offer_name),
        {", ".join(f"{m} = r.{m} + excluded.{m}" for m in MEASURES)}
    RETURNING r.id, r.conversions, r.duplicates
)
SELECT (SELECT count(*) FROM moved) AS deltas, count(*) AS cells,
       coalesce(array_agg(id) FILTER (WHERE conversions = 0 AND duplicates = 0), '{{}}')
           AS emptied,
       (SELECT coalesce(array_agg(id) FILTER (WHERE conversions = 0 AND duplicates = 0),
                        '{{}}') FROM days) AS emptied_days
FROM upserted
"""

# Cells whose every row is gone (retention, a status that moved on) hold only zeros.
_DROP_EMPTY = """
DELETE FROM {table}
WHERE id = ANY(CAST(:ids AS bigint[])) AND conversions = 0 AND duplicates = 0
"""
DROP_EMPTY = _DROP_EMPTY.format(table="conversion_hourly")
DROP_EMPTY_DAYS = _DROP_EMPTY.format(table="conversion_daily")

# Day cells of a zone from the hourly rollup as it stands, and the zone's entry, in one
# statement; run under the compaction's lock (only the compaction changes the hourly rollup).
# The hourly rollup is named in the WITH clause so that it is locked before the day cells.
BUILD_ZONE = f"""
WITH hours AS MATERIALIZED (
    SELECT tenant_id, date_trunc('day', hour, CAST(:zone AS text)) AS day, offer_id, status,
           currency, max(offer_name) AS offer_name,
           {", ".join(f"sum({m}) AS {m}" for m in MEASURES)}
    FROM conversion_hourly
    GROUP BY tenant_id, 2, offer_id, status, currency
    HAVING sum(conversions) <> 0 OR sum(duplicates) <> 0
), added AS (
    INSERT INTO conversion_daily_zone (zone) VALUES (:zone) RETURNING zone
)
INSERT INTO conversion_daily (zone, {DAY_CELL})
SELECT a.zone, {DAY_CELL} FROM hours CROSS JOIN added a
"""
HAS_ZONE = "SELECT EXISTS (SELECT FROM conversion_daily_zone WHERE zone = :zone)"


@dataclass(frozen=True, slots=True)
class Compacted:
    deltas: int
    cells: int
    emptied: int


async def compact(conn: AsyncConnection) -> Compacted:
    row = (await conn.execute(text(COMPACT))).one()
    emptied = list(row.emptied)
    if emptied:
        await conn.execute(text(DROP_EMPTY), {"ids": emptied})
    if row.emptied_days:
        await conn.execute(text(DROP_EMPTY_DAYS), {"ids": list(row.emptied_days)})
    return Compacted(deltas=row.deltas, cells=row.cells, emptied=len(emptied))


async def has_zone(conn: AsyncConnection, zone: str) -> bool:
    return bool((await conn.execute(text(HAS_ZONE), {"zone": zone})).scalar_one())


async def build_zone(conn: AsyncConnection, zone: str) -> int:
    """Day cells for `zone`; the caller holds the compaction's lock."""
    return int((await conn.execute(text(BUILD_ZONE), {"zone": zone})).rowcount)


async def pending_deltas(conn: AsyncConnection) -> int:
    return int(
        (await conn.execute(text("SELECT count(*) FROM conversion_hourly_delta"))).scalar_one()
    )
