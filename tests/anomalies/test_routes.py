"""`/api/alerts`: the list with its filters, a partner's key seeing its own alerts only, and
the open → acknowledged → resolved steps (the admin token's)."""

from __future__ import annotations

from tests.factories import create_tenant


async def add_alert(db, tenant_id: int, kind: str = "silence", offer_id: str | None = None) -> int:
    """An alert as a scan keeps it."""
    return await db.fetchval(
        "INSERT INTO alert (tenant_id, offer_id, kind, severity, started_at, last_seen_at,"
        " observed, expected, message_en, message_zh) VALUES ($1, $2, $3, 'critical',"
        " '2026-12-01T08:00Z', '2026-12-01T11:00Z', 0, 40,"
        " 'Shopee MY has sent no postbacks for 3 hours (usually about 40 an hour at this time)',"
        " 'Shopee MY 已 3 小时没有回传（平时这个时段每小时约 40 条）') RETURNING id",
        tenant_id,
        offer_id,
        kind,
    )


class TestList:
    async def test_the_fields_of_the_issue_in_both_languages(self, app, db, client, admin_headers):
        shop = await create_tenant(app, "shopee-my", name="Shopee MY")
        alert_id = await add_alert(db, shop.tenant.id)
        answer = await client.get("/api/alerts", headers=admin_headers)
        assert answer.status_code == 200
        (item,) = answer.json()["items"]
        assert {
            "id",
            "tenant",
            "offer_id",
            "kind",
            "severity",
            "state",
            "started_at",
            "observed",
            "expected",
            "message",
        } <= set(item)
        assert (item["id"], item["tenant"], item["kind"], item["state"]) == (
            alert_id,
            "shopee-my",
            "silence",
            "open",
        )
        assert (item["observed"], item["expected"]) == (0, 40)
        assert item["message"].startswith("Shopee MY has sent no postbacks for 3 hours")
        zh = await client.get("/api/alerts", params={"lang": "zh"}, headers=admin_headers)
        assert zh.json()["items"][0]["message"].startswith("Shopee MY 已 3 小时没有回传")

    async def test_filters_by_state_and_partner(self, app, db, client, admin_headers):
        shop = await create_tenant(app, "shopee-my")
        lazada = await create_tenant(app, "lazada-sg")
        first = await add_alert(db, shop.tenant.id)
        second = await add_alert(db, lazada.tenant.id, "volume_drop")
        await client.post(f"/api/alerts/{second}/resolve", headers=admin_headers)

        async def ids(**params: str) -> list[int]:
            answer = await client.get("/api/alerts", params=params, headers=admin_headers)
            assert answer.status_code == 200, answer.text
            return [item["id"] for item in answer.json()["items"]]

        assert await ids(state="open") == [first]
        assert await ids(state="resolved") == [second]
        assert await ids(tenant="lazada-sg") == [second]
        assert sorted(await ids()) == sorted([first, second])

    async def test_bad_filters_are_named(self, client, admin_headers):
        answer = await client.get("/api/alerts", params={"state": "closed"}, headers=admin_headers)
        assert answer.status_code == 422
        assert "state" in answer.text
        answer = await client.get("/api/alerts", params={"partner": "x"}, headers=admin_headers)
        assert answer.status_code == 422
        assert "partner" in answer.text

    async def test_a_partner_sees_its_own_alerts_only(self, app, db, client):
        shop = await create_tenant(app, "shopee-my")
        lazada = await create_tenant(app, "lazada-sg")
        own = await add_alert(db, shop.tenant.id)
        await add_alert(db, lazada.tenant.id)
        headers = {"Authorization": f"Bearer {shop.secrets['api_key']}"}
        answer = await client.get("/api/alerts", headers=headers)
        assert [i["id"] for i in answer.json()["items"]] == [own]
        other = await client.get("/api/alerts", params={"tenant": "lazada-sg"}, headers=headers)
        assert other.json()["items"] == []


class TestStates:
    async def test_open_acknowledged_resolved(self, app, db, client, admin_headers):
        shop = await create_tenant(app, "shopee-my")
        alert_id = await add_alert(db, shop.tenant.id)
        acknowledged = await client.post(
            f"/api/alerts/{alert_id}/acknowledge", headers=admin_headers
        )
        assert acknowledged.status_code == 200
        assert acknowledged.json()["state"] == "acknowledged"
        assert acknowledged.json()["acknowledged_at"] is not None
        resolved = await client.post(f"/api/alerts/{alert_id}/resolve", headers=admin_headers)
        assert resolved.json()["state"] == "resolved"
        assert resolved.json()["ended_at"] is not None
        again = await client.post(f"/api/alerts/{alert_id}/acknowledge", headers=admin_headers)
        assert again.status_code == 409
        assert "resolved already" in again.text

    async def test_only_the_admin_changes_them(self, app, db, client):
        shop = await create_tenant(app, "shopee-my")
        alert_id = await add_alert(db, shop.tenant.id)
        headers = {"Authorization": f"Bearer {shop.secrets['api_key']}"}
        answer = await client.post(f"/api/alerts/{alert_id}/resolve", headers=headers)
        assert answer.status_code == 403
        assert await db.fetchval("SELECT state FROM alert WHERE id = $1", alert_id) == "open"

    async def test_an_unknown_alert_is_404(self, client, admin_headers):
        answer = await client.post("/api/alerts/999999/resolve", headers=admin_headers)
        assert answer.status_code == 404
        assert "alert_id" in answer.text
