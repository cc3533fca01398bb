"""Retention that keeps history, against a real PostgreSQL, with the clock fixed by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from postback.jobs import autocommit_connection
from postback.lifecycle import service
from postback.lifecycle.schemas import UNOWNED, CleanupReport, Removed, TenantCleanup
from postback.rollups.repository import compact
from tests.factories import create_tenant, postback
from tests.lifecycle.rows import (
    NOW,
    add_conversion,
    add_rejection,
    conversion_ids,
    default_tenant_id,
    rejection_ids,
)

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
CUTOFF = NOW - 7 * DAY  # the default partner's retention
HORIZON = NOW - 400 * DAY  # the default history


@pytest.fixture
async def conn(app, db) -> AsyncIterator[AsyncConnection]:
    async with autocommit_connection(app.state.db.engine) as connection:
        yield connection


@pytest.fixture
def sync():
    """Register a sync cutoff for the test; none after it."""
    yield service.use_sync_cutoff
    service.use_sync_cutoff(None)


def by_slug(report: CleanupReport) -> dict[str, Removed]:
    return {t.slug: t.removed for t in report.tenants}


async def payload_of(db: asyncpg.Connection, row: int) -> str | None:
    value = await db.fetchval("SELECT raw::text FROM conversion WHERE id = $1", row)
    return None if value is None else str(value)


async def add_delivery(
    db: asyncpg.Connection, tenant_id: int, created_at: datetime, state: str
) -> int:
    forward = await db.fetchval(
        "INSERT INTO forward (tenant_id, url, events) VALUES ($1, 'https://t.example/', "
        "'{created}') RETURNING id",
        tenant_id,
    )
    # A pending one is due tomorrow: the app's delivery worker, running beside the tests,
    # would otherwise try it now (and give it up, its host unresolvable).
    delivery = await db.fetchval(
        "INSERT INTO delivery (forward_id, tenant_id, conversion_row_id, event, status, state,"
        " created_at, next_attempt_at)"
        " VALUES ($1, $2, 1, 'created', 'pending', $3, $4, now() + interval '1 day')"
        " RETURNING id",
        forward,
        tenant_id,
        state,
        created_at,
    )
    await db.execute(
        "INSERT INTO delivery_attempt (delivery_id, number, url, started_at, latency_ms)"
        " VALUES ($1, 1, 'https://t.example/', $2, 12.5)",
        delivery,
        created_at,
    )
    return int(delivery)


async def delivery_ids(db: asyncpg.Connection) -> set[int]:
    return {r["id"] for r in await db.fetch("SELECT id FROM delivery")}


async def rollup_totals(db: asyncpg.Connection, tenant_id: int) -> tuple[int, int, Decimal]:
    """Conversions, duplicates and USD sales in the rollups (folded cells plus deltas)."""
    row = await db.fetchrow(
        "SELECT coalesce(sum(conversions), 0) AS c, coalesce(sum(duplicates), 0) AS d,"
        " coalesce(sum(sales_usd), 0) AS s FROM (SELECT conversions, duplicates, sales_usd"
        " FROM conversion_hourly WHERE tenant_id = $1 UNION ALL SELECT conversions, duplicates,"
        " sales_usd FROM conversion_hourly_delta WHERE tenant_id = $1) AS cells",
        tenant_id,
    )
    return int(row["c"]), int(row["d"]), Decimal(row["s"])


class TestDetail:
    async def test_at_the_boundary_second_only_the_older_row_goes(self, conn, db):
        default = await default_tenant_id(db)
        first = {
            age: await add_conversion(db, default, CUTOFF + age * SECOND, f"F{age}")
            for age in (-1, 0, 1)
        }
        anchor = await add_conversion(db, default, NOW - 9 * DAY, "D")
        duplicate = {
            age: await add_conversion(db, default, CUTOFF + age * SECOND, "D", first_id=anchor)
            for age in (-1, 0, 1)
        }
        rejection = {
            age: await add_rejection(db, default, CUTOFF + age * SECOND) for age in (-1, 0, 1)
        }
        delivery = {
            age: await add_delivery(db, default, CUTOFF + age * SECOND, "delivered")
            for age in (-1, 0, 1)
        }

        report = await service.cleanup(conn, now=NOW)

        assert await conversion_ids(db) == {*first.values(), anchor, duplicate[0], duplicate[1]}
        assert await payload_of(db, first[-1]) is None
        assert await payload_of(db, anchor) is None
        assert await payload_of(db, first[0]) == "{}"
        assert await payload_of(db, first[1]) == "{}"
        assert await rejection_ids(db) == {rejection[0], rejection[1]}
        assert await delivery_ids(db) == {delivery[0], delivery[1]}
        attempts = await db.fetchval("SELECT count(*) FROM delivery_attempt")
        assert attempts == 2
        assert by_slug(report) == {
            "default": Removed(duplicates=1, payloads=2, rejections=1, deliveries=1)
        }

    async def test_pending_deliveries_stay_whatever_their_age(self, conn, db):
        default = await default_tenant_id(db)
        pending = await add_delivery(db, default, NOW - 30 * DAY, "pending")
        await add_delivery(db, default, NOW - 30 * DAY, "dead")

        await service.cleanup(conn, now=NOW)

        assert await delivery_ids(db) == {pending}

    async def test_each_partner_keeps_its_own_number_of_days(self, app, conn, db):
        default = await default_tenant_id(db)
        acme = (await create_tenant(app, "acme", retention_days=30)).tenant.id
        brief = (await create_tenant(app, "brief", retention_days=1)).tenant.id
        cleared: set[int] = set()
        rows: set[int] = set()
        for tenant, retention in ((default, 7), (acme, 30), (brief, 1)):
            for age in (0.5, 2, 10, 40):
                row = await add_conversion(db, tenant, NOW - age * DAY)
                rows.add(row)
                if age > retention:
                    cleared.add(row)
            await add_rejection(db, tenant, NOW - 20 * DAY)

        report = await service.cleanup(conn, now=NOW)

        assert await conversion_ids(db) == rows
        remaining = {r["id"] for r in await db.fetch("SELECT id FROM conversion WHERE raw IS NULL")}
        assert remaining == cleared
        assert {slug: (r.payloads, r.rejections) for slug, r in by_slug(report).items()} == {
            "default": (2, 1),
            "acme": (1, 0),
            "brief": (3, 1),
        }
        lines = {t.slug: t for t in report.tenants}
        assert lines["acme"].cutoff == NOW - 30 * DAY
        assert lines["brief"].retention_days == 1
        assert lines["brief"].history_days == 400

    async def test_rejections_without_a_tenant_follow_the_default_partner(self, conn, db):
        await db.execute("UPDATE tenant SET retention_days = 3 WHERE is_default")
        old = await add_rejection(db, None, NOW - 4 * DAY)
        young = await add_rejection(db, None, NOW - 2 * DAY)

        report = await service.cleanup(conn, now=NOW)

        assert await rejection_ids(db) == {young}
        assert old not in await rejection_ids(db)
        assert by_slug(report) == {"default": Removed(rejections=1)}

    async def test_without_a_default_partner_they_keep_the_usual_seven_days(self, conn, db):
        await db.execute("DELETE FROM tenant WHERE is_default")
        await add_rejection(db, None, NOW - 8 * DAY)
        young = await add_rejection(db, None, NOW - 6 * DAY)

        report = await service.cleanup(conn, now=NOW)

        assert await rejection_ids(db) == {young}
        assert report.tenants[-1] == TenantCleanup(
            UNOWNED, 7, 400, CUTOFF, HORIZON, Removed(rejections=1)
        )

    async def test_refuses_a_clock_without_timezone(self, conn, db):
        with pytest.raises(ValueError, match="timezone"):
            await service.cleanup(conn, now=NOW.replace(tzinfo=None))


class TestHistory:
    async def test_at_the_boundary_second_only_the_older_conversion_goes(self, conn, db):
        default = await default_tenant_id(db)
        rows = {
            age: await add_conversion(db, default, HORIZON + age * SECOND) for age in (-1, 0, 1)
        }
        duplicate = await add_conversion(db, default, HORIZON - SECOND, first_id=rows[-1])

        report = await service.cleanup(conn, now=NOW)

        assert await conversion_ids(db) == {rows[0], rows[1]}
        assert duplicate not in await conversion_ids(db)
        assert by_slug(report)["default"].conversions == 2
        # The survivors are past the retention: their payloads went, the rows stay.
        assert by_slug(report)["default"].payloads == 2

    async def test_history_is_never_shorter_than_the_retention(self, app, conn, db):
        long = (await create_tenant(app, "long", retention_days=500)).tenant.id
        kept = await add_conversion(db, long, NOW - 450 * DAY)
        await add_conversion(db, long, NOW - 501 * DAY)

        report = await service.cleanup(conn, now=NOW, history_days=400)

        assert await conversion_ids(db) == {kept}
        assert await payload_of(db, kept) == "{}"
        [line] = [t for t in report.tenants if t.slug == "long"]
        assert (line.history_days, line.history_cutoff) == (500, NOW - 500 * DAY)

    async def test_a_shorter_history_setting_is_followed(self, conn, db):
        default = await default_tenant_id(db)
        young = await add_conversion(db, default, NOW - 20 * DAY)
        await add_conversion(db, default, NOW - 40 * DAY)

        await service.cleanup(conn, now=NOW, history_days=30)

        assert await conversion_ids(db) == {young}


class TestRollups:
    async def test_detail_retention_leaves_every_count(self, app, conn, db, client):
        default = await default_tenant_id(db)
        for number in range(3):
            conversion = f"R-{number}"
            assert (await client.get("/postback/", params=postback(conversion))).status_code == 200
            again = await client.get("/postback/", params=postback(conversion, status="approved"))
            assert again.json()["duplicate"] is True
        await compact(conn)
        before = await rollup_totals(db, default)
        assert before == (3, 3, Decimal("81.30"))  # three conversions of 27.10 USD each

        report = await service.cleanup(conn, now=datetime.now(UTC) + 30 * DAY)

        assert by_slug(report)["default"].duplicates == 3
        assert await db.fetchval("SELECT count(*) FROM conversion WHERE is_duplicate") == 0
        assert await rollup_totals(db, default) == before
        await compact(conn)
        assert await rollup_totals(db, default) == before
        statuses = await db.fetch("SELECT status, raw FROM conversion ORDER BY id")
        assert [(r["status"], r["raw"]) for r in statuses] == [("approved", None)] * 3

    async def test_cells_whose_hour_ended_before_the_horizon_go(self, app, conn, db, client):
        default = await default_tenant_id(db)
        horizon = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
        # Hours in UTC: 09:00 ended before the horizon; 10:00 holds it; 11:00 is after it.
        for number, moment in enumerate(("09:59:59", "10:30:00", "11:00:00")):
            params = postback(f"H-{number}", datetime_conversion=f"2026-11-20T{moment}Z")
            assert (await client.get("/postback/", params=params)).status_code == 200
        await compact(conn)
        hours = "SELECT hour FROM conversion_hourly WHERE tenant_id = $1 ORDER BY hour"

        report = await service.cleanup(conn, now=horizon + 400 * DAY)

        assert [r["hour"].hour for r in await db.fetch(hours, default)] == [10, 11]
        assert by_slug(report)["default"].rollups == 1
        # The row at 09:59:59 went with its cell; the one exactly at the horizon stays.
        assert await db.fetchval("SELECT count(*) FROM conversion") == 2


class TestLateStatusUpdate:
    async def test_finds_its_first_row_weeks_after_the_cleanup(self, app, conn, db, client):
        first = await client.get("/postback/", params=postback("LATE-1", status="pending"))
        repeat = await client.get("/postback/", params=postback("LATE-1", status="pending"))
        assert repeat.json()["duplicate"] is True
        three_weeks_ago = datetime.now(UTC) - 21 * DAY
        await db.execute("UPDATE conversion SET received_at = $1", three_weeks_ago)

        report = await service.cleanup(conn, now=datetime.now(UTC))
        assert by_slug(report)["default"] == Removed(duplicates=1, payloads=1)

        late = await client.get("/postback/", params=postback("LATE-1", status="approved"))

        assert late.status_code == 200
        assert late.json()["duplicate"] is True
        rows = await db.fetch(
            "SELECT id, is_duplicate, first_id, status FROM conversion ORDER BY id"
        )
        first_id = first.json()["id"]
        assert [(r["id"], r["is_duplicate"], r["first_id"], r["status"]) for r in rows] == [
            (first_id, False, None, "approved"),
            (late.json()["id"], True, first_id, "approved"),
        ]
        await compact(conn)
        counts = await db.fetch(
            "SELECT status, sum(conversions) AS n FROM conversion_hourly GROUP BY status"
            " HAVING sum(conversions) <> 0"
        )
        assert {r["status"]: r["n"] for r in counts} == {"approved": 1}


class TestDryRun:
    async def test_counts_exactly_what_the_real_run_then_removes(self, app, conn, db):
        default = await default_tenant_id(db)
        acme = (await create_tenant(app, "acme", retention_days=30)).tenant.id
        for tenant in (default, acme):
            for age in (1, 10, 50, 450):
                row = await add_conversion(db, tenant, NOW - age * DAY)
                await add_conversion(db, tenant, NOW - age * DAY + SECOND, first_id=row)
                await add_rejection(db, tenant, NOW - age * DAY)
                await add_delivery(db, tenant, NOW - age * DAY, "dead")
        await add_rejection(db, None, NOW - 10 * DAY)
        await compact(conn)
        tables = ("conversion", "rejection", "delivery", "conversion_hourly", "conversion_daily")
        before = {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in tables}

        dry = await service.cleanup(conn, now=NOW, dry_run=True)

        after_dry = {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in tables}
        assert after_dry == before
        assert dry.dry_run is True
        # The 450-day conversion: both rows, its hour cell and its day cell in each built zone.
        cells = 1 + await db.fetchval("SELECT count(*) FROM conversion_daily_zone")
        assert by_slug(dry) == {
            # Rejections: the tenant's three, and the one without a tenant.
            "default": Removed(
                duplicates=2, payloads=2, rejections=4, deliveries=3, conversions=2, rollups=cells
            ),
            "acme": Removed(
                duplicates=1, payloads=1, rejections=2, deliveries=2, conversions=2, rollups=cells
            ),
        }

        real = await service.cleanup(conn, now=NOW)

        assert [t.removed for t in real.tenants] == [t.removed for t in dry.tenants]
        total = real.removed
        assert await db.fetchval("SELECT count(*) FROM conversion") == (
            before["conversion"] - total.duplicates - total.conversions
        )
        assert await db.fetchval("SELECT count(*) FROM conversion WHERE raw IS NULL") == (
            total.payloads
        )
        assert await db.fetchval("SELECT count(*) FROM rejection") == (
            before["rejection"] - total.rejections
        )
        assert await db.fetchval("SELECT count(*) FROM delivery") == (
            before["delivery"] - total.deliveries
        )
        rollups = before["conversion_hourly"] + before["conversion_daily"]
        cells = await db.fetchval(
            "SELECT (SELECT count(*) FROM conversion_hourly)"
            " + (SELECT count(*) FROM conversion_daily)"
        )
        assert cells == rollups - total.rollups
        again = await service.cleanup(conn, now=NOW, dry_run=True)
        assert again.removed == Removed()


class TestSync:
    async def test_nothing_the_sync_has_not_copied_is_touched(self, app, conn, db, sync):
        default = await default_tenant_id(db)
        copied_until = NOW - 20 * DAY

        async def cutoff(_: AsyncConnection) -> datetime:
            return copied_until

        sync(cutoff)
        copied = await add_conversion(db, default, copied_until - SECOND)
        not_copied = await add_conversion(db, default, copied_until)
        duplicate = await add_conversion(db, default, copied_until, first_id=not_copied)
        old_rejection = await add_rejection(db, default, copied_until - SECOND)
        new_rejection = await add_rejection(db, default, copied_until + SECOND)

        report = await service.cleanup(conn, now=NOW)

        assert await payload_of(db, copied) is None
        assert await payload_of(db, not_copied) == "{}"
        assert duplicate in await conversion_ids(db)
        assert await rejection_ids(db) == {new_rejection}
        assert old_rejection not in await rejection_ids(db)
        assert report.synced_until == copied_until
        assert "received before" in report.as_table()

    async def test_without_a_sync_there_is_no_cutoff(self, conn, sync):
        assert await service.sync_cutoff(conn) is None

    async def test_a_cutoff_without_timezone_is_refused(self, conn, sync):
        async def naive(_: AsyncConnection) -> datetime:
            return NOW.replace(tzinfo=None)

        sync(naive)
        with pytest.raises(ValueError, match="timezone-aware"):
            await service.cleanup(conn, now=NOW)


class TestBatches:
    async def test_batches_smaller_than_the_rows_still_reach_everything(self, conn, db):
        default = await default_tenant_id(db)
        anchor = await add_conversion(db, default, NOW - DAY)
        for minute in range(23):
            await add_conversion(db, default, NOW - 8 * DAY - minute * SECOND * 60)
            await add_conversion(db, default, NOW - 8 * DAY, first_id=anchor)
            await add_rejection(db, default, NOW - 9 * DAY - minute * SECOND * 60)

        report = await service.cleanup(conn, now=NOW, batch_size=5)

        assert await db.fetchval("SELECT count(*) FROM conversion WHERE raw IS NOT NULL") == 1
        assert await rejection_ids(db) == set()
        assert by_slug(report)["default"] == Removed(duplicates=23, payloads=23, rejections=23)

    async def test_a_batch_exactly_the_size_of_the_rows(self, conn, db):
        default = await default_tenant_id(db)
        for _ in range(4):
            await add_conversion(db, default, NOW - 8 * DAY)

        report = await service.cleanup(conn, now=NOW, batch_size=4)

        assert report.removed.payloads == 4


class TestClearedPayload:
    async def test_the_history_answers_with_the_payload_gone(self, conn, db, client, admin_headers):
        first = await client.get("/postback/", params=postback("GONE-1", status="pending"))
        late = await client.get("/postback/", params=postback("GONE-1", status="approved"))
        await db.execute(
            "UPDATE conversion SET received_at = $1 WHERE id = $2",
            datetime.now(UTC) - 10 * DAY,
            first.json()["id"],
        )
        await service.cleanup(conn, now=datetime.now(UTC))

        answer = await client.get(
            f"/postback/conversions/{first.json()['id']}/history", headers=admin_headers
        )

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["conversion"]["status"] == "approved"
        assert body["conversion"]["raw"] is None
        [cleared, update] = body["entries"]
        assert (cleared["raw"], cleared["status"], cleared["status_raw"]) == (None, "unknown", None)
        assert update["id"] == late.json()["id"]
        assert update["raw"]["status"] == "approved"
