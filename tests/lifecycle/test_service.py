"""Retention cleanup against a real PostgreSQL, with the clock fixed by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from postback.jobs import autocommit_connection
from postback.lifecycle import service
from postback.lifecycle.schemas import UNOWNED, CleanupReport, TenantCleanup
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


@pytest.fixture
async def conn(app, db) -> AsyncIterator[AsyncConnection]:
    async with autocommit_connection(app.state.db.engine) as connection:
        yield connection


def by_slug(report: CleanupReport) -> dict[str, TenantCleanup]:
    return {t.slug: t for t in report.tenants}


def counts(report: CleanupReport) -> dict[str, tuple[int, int]]:
    return {t.slug: (t.conversions, t.rejections) for t in report.tenants}


class TestRetention:
    async def test_deletes_rows_older_than_the_retention_and_keeps_the_rest(self, conn, db):
        default = await default_tenant_id(db)
        for age in (8, 30, 400):
            await add_conversion(db, default, NOW - age * DAY)
        young = [await add_conversion(db, default, NOW - age * DAY) for age in (0, 1, 6)]
        old_rejection = await add_rejection(db, default, NOW - 9 * DAY)
        young_rejection = await add_rejection(db, default, NOW - 2 * DAY)

        report = await service.cleanup(conn, now=NOW)

        assert await conversion_ids(db) == set(young)
        assert await rejection_ids(db) == {young_rejection}
        assert old_rejection not in await rejection_ids(db)
        [line] = report.tenants
        assert line == TenantCleanup("default", 7, NOW - 7 * DAY, conversions=3, rejections=1)
        assert (report.conversions, report.rejections, report.dry_run) == (3, 1, False)

    async def test_never_touches_a_row_at_or_inside_the_boundary(self, conn, db):
        default = await default_tenant_id(db)
        cutoff = NOW - 7 * DAY
        inside = await add_conversion(db, default, cutoff + SECOND)
        at_boundary = await add_conversion(db, default, cutoff)
        outside = await add_conversion(db, default, cutoff - SECOND)
        rejection_inside = await add_rejection(db, default, cutoff + SECOND)
        rejection_at_boundary = await add_rejection(db, default, cutoff)
        rejection_outside = await add_rejection(db, default, cutoff - SECOND)

        report = await service.cleanup(conn, now=NOW)

        assert await conversion_ids(db) == {inside, at_boundary}
        assert await rejection_ids(db) == {rejection_inside, rejection_at_boundary}
        assert outside not in await conversion_ids(db)
        assert rejection_outside not in await rejection_ids(db)
        assert counts(report) == {"default": (1, 1)}

    async def test_each_partner_keeps_its_own_number_of_days(self, app, conn, db):
        default = await default_tenant_id(db)
        acme = (await create_tenant(app, "acme", retention_days=30)).tenant.id
        brief = (await create_tenant(app, "brief", retention_days=1)).tenant.id
        kept: set[int] = set()
        for tenant, retention in ((default, 7), (acme, 30), (brief, 1)):
            for age in (0.5, 2, 10, 40):
                row = await add_conversion(db, tenant, NOW - age * DAY)
                if age <= retention:
                    kept.add(row)
            await add_rejection(db, tenant, NOW - 20 * DAY)

        report = await service.cleanup(conn, now=NOW)

        assert await conversion_ids(db) == kept
        assert counts(report) == {"default": (2, 1), "acme": (1, 0), "brief": (3, 1)}
        assert by_slug(report)["acme"].cutoff == NOW - 30 * DAY
        assert by_slug(report)["brief"].retention_days == 1
        remaining = await db.fetch("SELECT tenant_id FROM rejection")
        assert [r["tenant_id"] for r in remaining] == [acme]

    async def test_rejections_without_a_tenant_follow_the_default_partner(self, conn, db):
        await db.execute("UPDATE tenant SET retention_days = 3 WHERE is_default")
        old = await add_rejection(db, None, NOW - 4 * DAY)
        young = await add_rejection(db, None, NOW - 2 * DAY)

        report = await service.cleanup(conn, now=NOW)

        assert await rejection_ids(db) == {young}
        assert old not in await rejection_ids(db)
        assert counts(report) == {"default": (0, 1)}

    async def test_without_a_default_partner_they_keep_the_usual_seven_days(self, conn, db):
        await db.execute("DELETE FROM tenant WHERE is_default")
        await add_rejection(db, None, NOW - 8 * DAY)
        young = await add_rejection(db, None, NOW - 6 * DAY)

        report = await service.cleanup(conn, now=NOW)

        assert await rejection_ids(db) == {young}
        assert by_slug(report)[UNOWNED] == TenantCleanup(UNOWNED, 7, NOW - 7 * DAY, 0, 1)

    async def test_a_partner_without_old_rows_is_still_reported(self, app, conn, db):
        await create_tenant(app, "quiet", retention_days=14)

        report = await service.cleanup(conn, now=NOW)

        assert counts(report) == {"default": (0, 0), "quiet": (0, 0)}

    async def test_refuses_a_clock_without_timezone(self, conn, db):
        with pytest.raises(ValueError, match="timezone"):
            await service.cleanup(conn, now=NOW.replace(tzinfo=None))


class TestDuplicates:
    async def test_each_row_goes_by_its_own_age(self, conn, db):
        default = await default_tenant_id(db)
        first = await add_conversion(db, default, NOW - 10 * DAY, "C-9")
        old_duplicate = await add_conversion(db, default, NOW - 8 * DAY, "C-9", first_id=first)
        young_duplicate = await add_conversion(db, default, NOW - DAY, "C-9", first_id=first)

        report = await service.cleanup(conn, now=NOW)

        assert await conversion_ids(db) == {young_duplicate}
        assert old_duplicate not in await conversion_ids(db)
        # The survivor keeps its link to the deleted first row: a plain link, no foreign key.
        assert await db.fetchval("SELECT first_id FROM conversion") == first
        assert counts(report) == {"default": (2, 0)}

    async def test_a_postback_after_its_first_row_is_gone_is_a_new_first_row(
        self, conn, db, client
    ):
        received = await client.get("/postback/", params=postback("C-7"))
        assert received.json()["duplicate"] is False
        again = await client.get("/postback/", params=postback("C-7", status="approved"))
        assert again.json()["duplicate"] is True
        await db.execute(
            "UPDATE conversion SET received_at = $1 WHERE id = $2",
            NOW - 30 * DAY,
            received.json()["id"],
        )

        await service.cleanup(conn, now=NOW)
        third = await client.get("/postback/", params=postback("C-7", status="approved"))

        assert third.status_code == 200
        assert third.json()["duplicate"] is False
        rows = await db.fetch("SELECT id, is_duplicate FROM conversion ORDER BY id")
        assert [(r["id"], r["is_duplicate"]) for r in rows] == [
            (again.json()["id"], True),
            (third.json()["id"], False),
        ]


class TestDryRun:
    async def test_deletes_nothing_and_reports_what_a_real_run_removes(self, app, conn, db):
        default = await default_tenant_id(db)
        acme = (await create_tenant(app, "acme", retention_days=30)).tenant.id
        for tenant in (default, acme):
            for age in (1, 10, 50):
                await add_conversion(db, tenant, NOW - age * DAY)
                await add_rejection(db, tenant, NOW - age * DAY)
        await add_rejection(db, None, NOW - 10 * DAY)
        before = (await conversion_ids(db), await rejection_ids(db))

        dry = await service.cleanup(conn, now=NOW, dry_run=True)

        assert (await conversion_ids(db), await rejection_ids(db)) == before
        assert dry.dry_run is True
        assert counts(dry) == {"default": (2, 3), "acme": (1, 1)}

        real = await service.cleanup(conn, now=NOW)

        assert real.tenants == dry.tenants
        assert len(await conversion_ids(db)) == 6 - real.conversions
        assert len(await rejection_ids(db)) == 7 - real.rejections


class TestBatches:
    async def test_batches_smaller_than_the_rows_still_delete_everything(self, conn, db):
        default = await default_tenant_id(db)
        for minute in range(23):
            await add_conversion(db, default, NOW - 8 * DAY - minute * SECOND * 60)
            await add_rejection(db, default, NOW - 9 * DAY - minute * SECOND * 60)
        young = {await add_conversion(db, default, NOW - DAY) for _ in range(2)}

        report = await service.cleanup(conn, now=NOW, batch_size=5)

        assert await conversion_ids(db) == young
        assert await rejection_ids(db) == set()
        assert counts(report) == {"default": (23, 23)}

    async def test_a_batch_exactly_the_size_of_the_rows(self, conn, db):
        default = await default_tenant_id(db)
        for _ in range(4):
            await add_conversion(db, default, NOW - 8 * DAY)

        report = await service.cleanup(conn, now=NOW, batch_size=4)

        assert await conversion_ids(db) == set()
        assert report.conversions == 4
