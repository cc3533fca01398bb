"""`postback anomalies scan` and `postback anomalies sensitivity`, run for real in their own
process against the test database."""

from __future__ import annotations

from tests.factories import create_tenant


async def test_a_scan_on_demand(cli, db):
    await db.execute("DELETE FROM anomaly_scan")
    result = await cli("anomalies", "scan", "--at", "2026-12-03T10:00Z")
    assert result.code == 0, result.stderr
    assert "scanned at 2026-12-03T10:00:00+00:00" in result.stdout
    assert await db.fetchval("SELECT received_through FROM anomaly_scan") is not None


async def test_a_bad_time_is_named(cli):
    result = await cli("anomalies", "scan", "--at", "yesterday")
    assert result.code != 0
    assert "ISO time" in result.stderr


async def test_sensitivity(app, cli, db):
    shop = await create_tenant(app, "shopee-my")
    result = await cli("anomalies", "sensitivity", "shopee-my", "2")
    assert result.code == 0, result.stderr
    value = await db.fetchval(
        "SELECT sensitivity FROM anomaly_setting WHERE tenant_id = $1", shop.tenant.id
    )
    assert value == 2
    missing = await cli("anomalies", "sensitivity", "nobody", "2")
    assert missing.code == 1
    assert "no partner with slug 'nobody'" in missing.stderr
    out_of_range = await cli("anomalies", "sensitivity", "shopee-my", "50")
    assert out_of_range.code != 0
