"""The scheduled sync (one instance at a time, by the advisory lock) and the cutoff it gives
the retention cleanup: nothing the configured sync has not copied may be deleted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from postback.jobs import SYNC_LOCK, advisory_lock, autocommit_connection
from postback.settings import get_settings
from postback.sync import service
from postback.sync.jobs import SyncJob
from tests.lifecycle.rows import add_conversion, default_tenant_id
from tests.sync.helpers import ZONE, Copy, insert_rows, source_ids


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[str]:
    """POSTBACK_SYNC_TO set for get_settings(), as the lifecycle's hook reads it."""
    to = f"duckdb:{tmp_path / 'copy.duckdb'}"
    monkeypatch.setenv("POSTBACK_SYNC_TO", to)
    get_settings.cache_clear()
    yield to
    get_settings.cache_clear()


async def oldest(app) -> datetime | None:
    async with autocommit_connection(app.state.db.engine) as conn:
        return await service.oldest_uncopied(conn)


class TestSyncJob:
    async def test_a_round_copies_and_a_second_instance_skips(self, app, db, tmp_path):
        await insert_rows(db, 30)
        target = tmp_path / "copy.duckdb"
        job = SyncJob(app.state.db.engine, f"duckdb:{target}", 60, ZONE)

        async with (
            autocommit_connection(app.state.db.engine) as other,
            advisory_lock(other, SYNC_LOCK) as held,
        ):
            assert held
            skipped = await job.run_once()
        report = await job.run_once()

        assert skipped is None
        assert report is not None
        assert report.rows == 30
        assert Copy.duckdb(target).ids() == await source_ids(db)

    async def test_off_without_a_destination(self, app):
        job = SyncJob(app.state.db.engine, None, 60, ZONE)
        job.start()
        assert not job.running
        assert await job.run_once() is None


class TestOldestUncopied:
    async def test_follows_what_the_configured_sync_copied(self, app, db, configured):
        tenant = await default_tenant_id(db)
        now = datetime.now(UTC)
        first = await add_conversion(db, tenant, now - timedelta(days=30))
        await add_conversion(db, tenant, now - timedelta(days=20))

        assert await oldest(app) == now - timedelta(days=30)  # never synced: everything

        job = SyncJob(app.state.db.engine, configured, 60, ZONE)
        await job.run_once()
        copied_all = await oldest(app)
        assert copied_all is not None
        assert copied_all > now - timedelta(minutes=5)  # the database's now()

        late = await add_conversion(db, tenant, now - timedelta(days=25))
        assert await oldest(app) == now - timedelta(days=25)
        await db.execute("UPDATE conversion SET status = 'approved' WHERE id = $1", first)
        assert await oldest(app) == now - timedelta(days=30)

        await job.run_once()
        assert (await oldest(app) or now) > now - timedelta(minutes=5)
        assert late in Copy.duckdb(configured.removeprefix("duckdb:")).ids()

    async def test_none_without_a_configured_sync(self, app):
        assert await oldest(app) is None
