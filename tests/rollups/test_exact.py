"""The hourly and daily rollups equal a plain GROUP BY over `conversion` after every step of a
random mix: batches through the real write path (new rows, duplicates, replays, two writers
at once), status updates, retention cleanups, direct deletes and compactions. The seed is
printed; ROLLUP_SEED=<n> replays a run.

The retention changes no rollup (postback/lifecycle): the rows it deletes are kept aside by the
test (`retired`, as they were when deleted) and still count, in the rollups' cells and in the
whole hours of a window; a window's partial edge hours are read from the rows that remain."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from postback.ingest import repository as ingest
from postback.ingest.schemas import ConversionRow
from postback.ingest.service import new_receipt_id
from postback.lifecycle.jobs import run_cleanup
from postback.rollups import repository as rollups
from postback.rollups import service as compaction
from postback.rollups.repository import Window
from tests.factories import create_tenant

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
KL = ZoneInfo("Asia/Kuala_Lumpur")
# A zone whose day cells are never built: its readers take hour cells for whole days.
TOKYO = ZoneInfo("Asia/Tokyo")
STATUSES = ("pending", "approved", "rejected", "paid", "other")
CURRENCIES = ("MYR", "USD", "IDR", None)
OFFERS = (("1001", "Shopee MY"), ("2002", "Lazada MY"), ("3003", "TikTok Shop"), (None, None))

MEASURES = """count(*) FILTER (WHERE NOT is_duplicate), count(*) FILTER (WHERE is_duplicate),
    coalesce(sum(usd_sale_amount) FILTER (WHERE NOT is_duplicate), 0),
    coalesce(sum(myr_sale_amount) FILTER (WHERE NOT is_duplicate), 0),
    coalesce(sum(sale_amount_local) FILTER (WHERE NOT is_duplicate), 0),
    coalesce(sum(usd_payout) FILTER (WHERE NOT is_duplicate), 0),
    coalesce(sum(myr_payout) FILTER (WHERE NOT is_duplicate), 0),
    coalesce(sum(payout_local) FILTER (WHERE NOT is_duplicate), 0)"""
# Rows the retention deleted, as they were: the rollups still count them.
RETIRED = "CREATE TEMP TABLE IF NOT EXISTS retired AS SELECT * FROM conversion WITH NO DATA"
EVERY_ROW = "(SELECT * FROM conversion UNION ALL SELECT * FROM pg_temp.retired) AS c"
RAW_CELLS = f"""
SELECT tenant_id, date_trunc('hour', occurred_at, 'UTC'), offer_id, status,
       conversion_currency, {MEASURES}
FROM {EVERY_ROW} GROUP BY 1, 2, 3, 4, 5
"""
ROLLUP_CELLS = f"""
SELECT tenant_id, hour, offer_id, status, currency,
       {", ".join(f"sum({m})" for m in rollups.MEASURES)}
FROM (SELECT * FROM conversion_hourly UNION ALL SELECT NULL, * FROM conversion_hourly_delta) c
GROUP BY 1, 2, 3, 4, 5
HAVING {" OR ".join(f"sum({m}) <> 0" for m in rollups.MEASURES)}
"""
# A window's rows, and the retired ones of its whole hours [$3, $4).
WINDOW_ROWS = """(SELECT * FROM conversion WHERE occurred_at >= $1 AND occurred_at < $2
    UNION ALL SELECT * FROM pg_temp.retired WHERE occurred_at >= $3 AND occurred_at < $4) AS c"""
RAW_WINDOW = f"SELECT {MEASURES} FROM {WINDOW_ROWS}"
RAW_DAYS = f"""
SELECT date_trunc('day', occurred_at, $5), {MEASURES} FROM {WINDOW_ROWS}
GROUP BY 1 HAVING count(*) FILTER (WHERE NOT is_duplicate) > 0
"""
# Every zone's day cells against the hourly cells grouped by that zone's days.
DAILY_CELLS = f"""
SELECT zone, tenant_id, day, offer_id, status, currency,
       {", ".join(f"sum({m})" for m in rollups.MEASURES)}
FROM conversion_daily GROUP BY 1, 2, 3, 4, 5, 6
HAVING {" OR ".join(f"sum({m}) <> 0" for m in rollups.MEASURES)}
"""
HOURLY_BY_DAY = f"""
SELECT z.zone, h.tenant_id, date_trunc('day', h.hour, z.zone), h.offer_id, h.status, h.currency,
       {", ".join(f"sum(h.{m})" for m in rollups.MEASURES)}
FROM conversion_hourly h CROSS JOIN conversion_daily_zone z GROUP BY 1, 2, 3, 4, 5, 6
HAVING {" OR ".join(f"sum(h.{m}) <> 0" for m in rollups.MEASURES)}
"""


def cells(records: list[asyncpg.Record]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {tuple(r[:5]): tuple(r[5:]) for r in records}


def amount(rng: random.Random) -> Decimal | None:
    if rng.random() < 0.15:
        return None
    return Decimal(rng.randrange(0, 5_000_000_000)) / Decimal(1_000_000)


class Mix:
    """A random sequence of changes to `conversion`, and the check after each."""

    def __init__(
        self,
        rng: random.Random,
        writers: list[asyncpg.Connection],
        tenants: list[tuple[int, bool]],
        compact: Callable[[], Awaitable[object]],
        cleanup: Callable[[datetime], Awaitable[object]],
        observer: asyncpg.Connection,
    ) -> None:
        self.rng = rng
        self.observer = observer  # the connection the checks read on (it holds `retired`)
        self.writers = writers
        self.tenants = tenants
        self.compact = compact
        self.cleanup = cleanup
        self.conversion_ids: list[tuple[int, str]] = []
        self.receipts: list[tuple[Any, ...]] = []
        self.now = NOW
        self.counter = 0

    def row(self) -> tuple[Any, ...]:
        rng = self.rng
        if self.receipts and rng.random() < 0.05:
            return rng.choice(self.receipts)  # a replay of a stored receipt
        if self.conversion_ids and rng.random() < 0.35:
            tenant_id, conversion_id = rng.choice(self.conversion_ids)
        else:
            self.counter += 1
            tenant_id, _ = rng.choice(self.tenants)
            conversion_id = f"C-{self.counter}"
            self.conversion_ids.append((tenant_id, conversion_id))
        dedup = dict(self.tenants)[tenant_id]
        offer_id, offer_name = rng.choice(OFFERS)
        received = self.now - timedelta(minutes=rng.randrange(0, 10 * 24 * 60))
        occurred = (
            None
            if rng.random() < 0.2
            else received - timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        )
        status = rng.choice(STATUSES)
        row = ConversionRow(
            new_receipt_id(),
            tenant_id,
            conversion_id,
            offer_id,
            offer_name,
            occurred,
            None,
            None,
            amount(rng),
            amount(rng),
            amount(rng),
            amount(rng),
            amount(rng),
            amount(rng),
            rng.choice(CURRENCIES),
            status,
            status,
            *([None] * 9),
            "{}",
            received,
            "198.51.100.1",
            dedup,
        )
        self.receipts.append(row)
        return row

    async def insert(self) -> str:
        rows = [self.row() for _ in range(self.rng.randint(1, 25))]
        await ingest.write_conversions(self.rng.choice(self.writers), rows)
        return f"insert {len(rows)}"

    async def insert_concurrently(self) -> str:
        batches = [[self.row() for _ in range(self.rng.randint(1, 20))] for _ in self.writers]
        await asyncio.gather(
            *(ingest.write_conversions(w, b) for w, b in zip(self.writers, batches, strict=True))
        )
        return f"concurrent inserts {[len(b) for b in batches]}"

    async def update_status(self) -> str:
        status = self.rng.choice(STATUSES)
        done = await self.writers[0].execute(
            "UPDATE conversion SET status = $1, status_updated_at = now()"
            " WHERE id IN (SELECT id FROM conversion ORDER BY random() LIMIT $2)",
            status,
            self.rng.randint(1, 10),
        )
        return f"status -> {status}: {done}"

    async def delete_some(self) -> str:
        done = await self.writers[0].execute(
            "DELETE FROM conversion WHERE id IN (SELECT id FROM conversion ORDER BY random()"
            " LIMIT $1)",
            self.rng.randint(1, 8),
        )
        return f"delete {done}"

    async def retention(self) -> str:
        self.now += timedelta(hours=self.rng.randint(1, 30))
        checker = self.observer
        await checker.execute("CREATE TEMP TABLE snapshot AS SELECT * FROM conversion")
        await self.cleanup(self.now)
        await checker.execute(
            "INSERT INTO pg_temp.retired SELECT s.* FROM snapshot s"
            " WHERE NOT EXISTS (SELECT FROM conversion c WHERE c.id = s.id)"
        )
        await checker.execute("DROP TABLE snapshot")
        return f"cleanup at {self.now:%Y-%m-%d %H:%M}"

    async def run_compaction(self) -> str:
        await self.compact()
        return "compact"

    async def step(self) -> str:
        actions = [
            (self.insert, 10),
            (self.update_status, 3),
            (self.delete_some, 2),
            (self.retention, 2),
            (self.run_compaction, 3),
        ]
        if len(self.writers) > 1:
            actions.append((self.insert_concurrently, 4))
        action = self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]
        return await action()

    async def mismatch(self, conn: asyncpg.Connection) -> str | None:
        """What differs between the rollups and the raw rows, or None."""
        raw = cells(await conn.fetch(RAW_CELLS))
        rolled = cells(await conn.fetch(ROLLUP_CELLS))
        if raw != rolled:
            wrong = {k for k in raw.keys() | rolled.keys() if raw.get(k) != rolled.get(k)}
            key = sorted(wrong, key=repr)[0]
            seen = f"raw {raw.get(key)} rollup {rolled.get(key)}"
            return f"{len(wrong)} cells differ, e.g. {key}: {seen}"
        days, hours = await day_and_hour_cells(conn)
        if days != hours:
            wrong = {k for k in days.keys() | hours.keys() if days.get(k) != hours.get(k)}
            key = sorted(wrong, key=repr)[0]
            return f"{len(wrong)} day cells differ, e.g. {key}: {days.get(key)} {hours.get(key)}"
        return None


async def day_and_hour_cells(conn: asyncpg.Connection) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Both read in one snapshot: the app's own compaction may fold deltas between two reads."""

    async def read() -> tuple[dict[Any, Any], dict[Any, Any]]:
        days = {tuple(r[:6]): tuple(r[6:]) for r in await conn.fetch(DAILY_CELLS)}
        hours = {tuple(r[:6]): tuple(r[6:]) for r in await conn.fetch(HOURLY_BY_DAY)}
        return days, hours

    if conn.is_in_transaction():  # the caller's transaction is the snapshot
        return await read()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await read()


async def window_mismatch(
    session: AsyncSession, conn: asyncpg.Connection, rng: random.Random
) -> str | None:
    """A random window (any minute, or whole local days), read the way /postback/stats and
    the dashboard read it (totals and by local day), against raw."""
    zone = rng.choice((KL, KL, TOKYO))
    start = NOW - timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
    end = start + timedelta(minutes=rng.randrange(1, 6 * 24 * 60))
    if rng.random() < 0.3:
        start, end = (rollups.local_midnight(t, zone, after=False) for t in (start, end))
        end += timedelta(days=1)
    window = Window.of(None, start, end, zone)
    (total,) = await rollups.grouped(session, window)
    # The whole UTC hours inside the window (both zones' offsets are whole hours).
    first_hour = start.replace(minute=0, second=0, microsecond=0)
    if first_hour < start:
        first_hour += timedelta(hours=1)
    last_hour = max(end.replace(minute=0, second=0, microsecond=0), first_hour)
    hours = (first_hour, last_hour)
    expected = tuple(await conn.fetchrow(RAW_WINDOW, start, end, *hours))
    got = tuple(getattr(total, m) for m in rollups.MEASURES)
    if got != expected:
        return f"window {start}..{end} {zone}: raw {expected} read {got}"
    by_day = await rollups.grouped(session, window, ["local_day"])
    got_days = {r.local_day: tuple(getattr(r, m) for m in rollups.MEASURES) for r in by_day}
    raw_days = {
        r[0].astimezone(zone).replace(tzinfo=None): tuple(r[1:])
        for r in await conn.fetch(RAW_DAYS, start, end, *hours, zone.key)
    }
    if got_days != raw_days:
        return f"window {start}..{end} {zone} by day: raw {raw_days} read {got_days}"
    return None


def seed() -> int:
    value = int(os.environ.get("ROLLUP_SEED", random.randrange(2**32)))
    print(f"ROLLUP_SEED={value}")
    return value


@pytest.fixture
async def tenants(app, db) -> list[tuple[int, bool]]:
    default = await db.fetchval("SELECT id FROM tenant WHERE is_default")
    second = await create_tenant(app, "second")
    loose = await create_tenant(app, "loose", dedup_enabled=False, retention_days=3)
    await db.execute("DROP TABLE IF EXISTS pg_temp.retired")
    await db.execute(RETIRED)
    return [(default, True), (second.tenant.id, True), (loose.tenant.id, False)]


STEPS = 160


async def test_rollups_equal_raw_aggregates_after_every_step(app, db, database_url, tenants):
    rng = random.Random(seed())
    engine = app.state.db.engine
    writers = [await asyncpg.connect(database_url) for _ in range(2)]
    try:
        mix = Mix(
            rng,
            writers,
            tenants,
            compact=lambda: compaction.compact(engine, KL.key),
            cleanup=lambda now: run_cleanup(engine, now=now, batch_size=7),
            observer=db,
        )
        history: list[str] = []
        async with AsyncSession(engine) as session:
            for _ in range(STEPS):
                history.append(await mix.step())
                problem = await mix.mismatch(db) or await window_mismatch(session, db, rng)
                assert problem is None, f"after {history[-5:]}: {problem}"
                await session.rollback()
        assert await db.fetchval("SELECT count(*) FROM conversion") > 0
        kinds = {h.split()[0] for h in history}
        assert {"insert", "concurrent", "status", "delete", "cleanup", "compact"} <= kinds
        # Everything folded: the deltas are gone and the rollups alone are exact.
        await compaction.compact(engine, KL.key)
        assert await db.fetchval("SELECT count(*) FROM conversion_hourly_delta") == 0
        assert await db.fetchval("SELECT count(*) FROM conversion_daily") > 0
        assert await mix.mismatch(db) is None
    finally:
        for writer in writers:
            await writer.close()


@pytest.mark.parametrize(
    "trigger", ["conversion_hourly_insert", "conversion_hourly_update", "conversion_hourly_delete"]
)
async def test_the_check_fails_without_a_trigger(db, tenants, trigger):
    """The same check catches a rollup that misses one kind of change."""
    rng = random.Random(seed())
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(f"DROP TRIGGER {trigger} ON conversion")

        async def compact() -> None:
            emptied = (await db.fetchrow(rollups.COMPACT))["emptied"]
            await db.execute(
                "DELETE FROM conversion_hourly WHERE id = ANY($1::bigint[])"
                " AND conversions = 0 AND duplicates = 0",
                emptied,
            )

        async def cleanup(now: datetime) -> None:
            # As the retention deletes: leaving the rollups as they are.
            await db.execute("SELECT set_config('postback.keep_rollups', 'on', true)")
            await db.execute(
                "DELETE FROM conversion WHERE received_at < $1", now - timedelta(days=7)
            )
            await db.execute("SELECT set_config('postback.keep_rollups', 'off', true)")

        mix = Mix(rng, [db], tenants, compact=compact, cleanup=cleanup, observer=db)
        problem = None
        for _ in range(60):
            await mix.insert()
            await mix.step()
            problem = await mix.mismatch(db)
            if problem:
                break
        assert problem is not None, f"dropping {trigger} went unnoticed"
    finally:
        await transaction.rollback()
