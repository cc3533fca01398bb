"""The periodic cleanup job: one instance at a time through the advisory lock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from asgi_lifespan import LifespanManager

from postback.app import create_app
from postback.jobs import CLEANUP_LOCK
from postback.lifecycle.jobs import CleanupJob
from tests.fixtures import make_settings
from tests.lifecycle.rows import NOW, add_conversion, conversion_ids, default_tenant_id

DAY = timedelta(days=1)
# Not a timing assertion: only a guard so a condition that never comes fails the test.
GUARD_SECONDS = 60


async def eventually(check) -> None:
    """Wait until `check()` is true (polling), or fail after the guard."""
    async with asyncio.timeout(GUARD_SECONDS):
        while not await check():
            await asyncio.sleep(0.02)


async def advisory_locks(db: asyncpg.Connection) -> int:
    """Sessions holding the cleanup's lock (not the app's compaction, which takes its own
    every few seconds, nor the compaction lock a cleanup takes briefly to trim rollups)."""
    return int(
        await db.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND ((classid::bigint << 32) | objid::bigint) = $1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            CLEANUP_LOCK,
        )
    )


async def a_delete_waits(db: asyncpg.Connection) -> bool:
    """Whether a cleanup DELETE is waiting on a row lock (so it holds the advisory lock)."""
    return bool(
        await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM conversion %'"
        )
    )


async def no_advisory_lock(db: asyncpg.Connection) -> bool:
    return await advisory_locks(db) == 0


class TestAdvisoryLock:
    async def test_of_two_concurrent_runs_only_one_does_the_work(self, app, db, database_url):
        default = await default_tenant_id(db)
        old = [await add_conversion(db, default, NOW - 500 * DAY) for _ in range(3)]
        young = await add_conversion(db, default, NOW - DAY)
        first = CleanupJob(app.state.db.engine, interval=3600)
        second = CleanupJob(app.state.db.engine, interval=3600)

        # Hold a row lock so the first run stops inside its work, holding the advisory lock.
        blocker = await asyncpg.connect(database_url)
        try:
            hold = blocker.transaction()
            await hold.start()
            await blocker.execute("SELECT 1 FROM conversion WHERE id = $1 FOR UPDATE", old[0])
            working = asyncio.create_task(first.run_once(now=NOW))
            await eventually(lambda: a_delete_waits(db))
            skipped = await second.run_once(now=NOW)
            await hold.rollback()
            report = await working
        finally:
            await blocker.close()

        assert skipped is None
        assert report is not None
        assert report.removed.conversions == 3
        assert await conversion_ids(db) == {young}

    async def test_the_lock_is_released_after_each_run(self, app, db):
        job = CleanupJob(app.state.db.engine, interval=3600)
        default = await default_tenant_id(db)
        await add_conversion(db, default, NOW - 500 * DAY)

        first = await job.run_once(now=NOW)
        assert await advisory_locks(db) == 0
        second = await CleanupJob(app.state.db.engine, interval=3600).run_once(now=NOW)

        assert first is not None
        assert first.removed.conversions == 1
        assert second is not None
        assert second.removed.conversions == 0
        assert await advisory_locks(db) == 0

    async def test_the_lock_is_released_when_a_run_fails(self, app, db):
        job = CleanupJob(app.state.db.engine, interval=3600)
        with pytest.raises(ValueError, match="timezone"):
            await job.run_once(now=NOW.replace(tzinfo=None))

        assert await advisory_locks(db) == 0
        assert await job.run_once(now=NOW) is not None

    async def test_stopping_in_the_middle_of_a_run_releases_the_lock(self, app, db, database_url):
        default = await default_tenant_id(db)
        row = await add_conversion(db, default, datetime.now(UTC) - 500 * DAY)
        job = CleanupJob(app.state.db.engine, interval=3600)
        blocker = await asyncpg.connect(database_url)
        try:
            hold = blocker.transaction()
            await hold.start()
            await blocker.execute("SELECT 1 FROM conversion WHERE id = $1 FOR UPDATE", row)
            job.start()
            await eventually(lambda: a_delete_waits(db))

            await job.stop()

            assert job.running is False
            await hold.rollback()
        finally:
            await blocker.close()
        await eventually(lambda: no_advisory_lock(db))
        assert await conversion_ids(db) == {row}
        assert await CleanupJob(app.state.db.engine, interval=0).run_once() is not None


class TestInTheApp:
    async def test_interval_zero_runs_no_job(self, app, db):
        assert app.state.cleanup.running is False

    async def test_the_app_cleans_up_at_start_and_stops_cleanly(self, db, database_url, tmp_path):
        default = await default_tenant_id(db)
        now = datetime.now(UTC)
        await add_conversion(db, default, now - 500 * DAY)
        young = await add_conversion(db, default, now - DAY)
        settings = make_settings(database_url, tmp_path, POSTBACK_CLEANUP_INTERVAL=3600)
        application = create_app(settings)

        async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
            assert application.state.cleanup.running is True

            async def only_the_young_row_is_left() -> bool:
                return await conversion_ids(db) == {young}

            await eventually(only_the_young_row_is_left)

        assert application.state.cleanup.running is False
        assert await advisory_locks(db) == 0
