"""One partner's silence through the real scan: found once history allows, the same alert
updated by repeated scans (no storm), and resolved by the scan when postbacks come back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postback.anomalies.jobs import run_scan
from tests.factories import create_tenant

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


async def add_traffic(db, tenant_id: int, since: datetime, until: datetime, per_hour: int) -> None:
    """`per_hour` postbacks evenly spread over each hour of [since, until)."""
    await db.execute(
        """
INSERT INTO conversion (receipt_id, tenant_id, conversion_id, offer_id, datetime_conversion,
    status, raw, received_at, deduplicated)
SELECT gen_random_uuid(), $1, 'C-' || extract(epoch FROM at)::bigint, 'OFF-1', at,
    'approved', '{}', at, true
FROM generate_series($2::timestamptz, $3::timestamptz - interval '1 second',
                     make_interval(secs => 3600.0 / $4)) AS at""",
        tenant_id,
        since,
        until,
        per_hour,
    )


async def alerts(db) -> list:
    return await db.fetch("SELECT * FROM alert ORDER BY id")


async def test_silence_is_one_alert_until_postbacks_return(app, db):
    shop = await create_tenant(app, "shopee-my", name="Shopee MY")
    engine = app.state.db.engine
    quiet_from = NOW - timedelta(hours=3)
    await add_traffic(db, shop.tenant.id, NOW - timedelta(days=28), quiet_from, 30)
    await db.execute("DELETE FROM anomaly_scan")

    await run_scan(engine, now=NOW)
    (alert,) = await alerts(db)
    assert (alert["kind"], alert["offer_id"], alert["state"]) == ("silence", None, "open")
    assert alert["started_at"] == await db.fetchval(
        "SELECT max(received_at) FROM conversion WHERE tenant_id = $1", shop.tenant.id
    )
    assert alert["expected"] == 30
    assert alert["message_en"].startswith("Shopee MY has sent no postbacks for 3 hours")
    assert "（平时这个时段每小时约 30 条）" in alert["message_zh"]

    # Scans a minute apart find it again: the same alert, updated.
    await run_scan(engine, now=NOW + timedelta(minutes=1))
    await run_scan(engine, now=NOW + timedelta(minutes=2))
    (alert,) = await alerts(db)
    assert alert["findings"] == 3
    assert alert["last_seen_at"] == NOW + timedelta(minutes=2)

    # Postbacks come back: the scan resolves it.
    await add_traffic(
        db, shop.tenant.id, NOW + timedelta(minutes=2), NOW + timedelta(minutes=4), 30
    )
    await run_scan(engine, now=NOW + timedelta(minutes=5))
    (alert,) = await alerts(db)
    assert (alert["state"], alert["resolved_by"]) == ("resolved", "scan")


async def test_too_little_history_raises_nothing(app, db):
    shop = await create_tenant(app, "newcomer")
    await add_traffic(db, shop.tenant.id, NOW - timedelta(days=10), NOW - timedelta(hours=5), 60)
    await db.execute("DELETE FROM anomaly_scan")
    await run_scan(app.state.db.engine, now=NOW)
    assert await alerts(db) == []
