"""Retention: entries older than POSTBACK_AUDIT_DAYS go, younger ones stay, one instance at a
time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postback.audit import jobs
from postback.jobs import AUDIT_LOCK
from postback.settings import Settings


async def add(db, created_at: datetime) -> int:
    return int(
        await db.fetchval(
            "INSERT INTO audit_entry (created_at, actor_kind, actor_label, action, target_kind)"
            " VALUES ($1, 'cli', 'ops', 'tenant.update', 'tenant') RETURNING id",
            created_at,
        )
    )


async def test_old_entries_go(app, db):
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    cutoff = now - timedelta(days=730)
    old = [await add(db, cutoff - timedelta(days=d, seconds=1)) for d in (0, 1, 400)]
    kept = [await add(db, cutoff), await add(db, cutoff + timedelta(days=1)), await add(db, now)]
    removed = await jobs.prune(app.state.db.engine, 730, now=now, batch_size=2)
    assert removed == len(old)
    left = [row["id"] for row in await db.fetch("SELECT id FROM audit_entry ORDER BY id")]
    assert left == kept


async def test_one_instance_at_a_time(app, db):
    await add(db, datetime(2000, 1, 1, tzinfo=UTC))
    async with app.state.db.engine.connect() as other:
        await other.exec_driver_sql(f"SELECT pg_advisory_lock({AUDIT_LOCK})")
        assert await jobs.prune(app.state.db.engine, 730) is None
        await other.exec_driver_sql(f"SELECT pg_advisory_unlock({AUDIT_LOCK})")
    assert await jobs.prune(app.state.db.engine, 730) == 1


def test_the_default_keeps_two_years():
    assert Settings.model_fields["audit_days"].default == 730
