"""Duplicates and tenant resolution: same tenant + conversion_id is flagged, never dropped."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import create_tenant, postback


async def send(client, **params):
    response = await client.get("/postback/", params=params)
    assert response.status_code == 200, response.text
    return response.json()


class TestDuplicates:
    async def test_repeat_is_stored_flagged_and_linked(self, client, db):
        first = await send(client, **postback("D-1"))
        again = await send(client, **postback("D-1"))
        assert (first["duplicate"], again["duplicate"]) == (False, True)
        rows = await db.fetch("SELECT id, is_duplicate, first_id FROM conversion ORDER BY id")
        assert [(r["id"], r["is_duplicate"], r["first_id"]) for r in rows] == [
            (first["id"], False, None),
            (again["id"], True, first["id"]),
        ]

    async def test_new_status_updates_the_first_row_history_stays(self, client, db):
        first = await send(client, **postback("D-2", status="pending"))
        await send(client, **postback("D-2", status="Approved"))
        row = await db.fetchrow(
            "SELECT status, status_raw, status_updated_at FROM conversion WHERE id = $1",
            first["id"],
        )
        assert (row["status"], row["status_raw"]) == ("approved", "Approved")
        assert row["status_updated_at"] is not None
        history = await db.fetch(
            "SELECT raw->>'status' AS sent FROM conversion WHERE conversion_id = 'D-2' ORDER BY id"
        )
        assert [r["sent"] for r in history] == ["pending", "Approved"]

    async def test_repeat_without_status_keeps_the_status(self, client, db):
        first = await send(client, **postback("D-3", status="approved"))
        await send(client, conversion_id="D-3")
        status = await db.fetchval("SELECT status FROM conversion WHERE id = $1", first["id"])
        assert status == "approved"

    async def test_same_conversion_id_for_two_tenants_is_not_a_duplicate(self, client, db):
        app = client._transport.app
        await create_tenant(app, "shopee", ts_token="tok-a")
        await create_tenant(app, "lazada", ts_token="tok-b")
        a = await send(client, **postback("D-4", ts_token="tok-a"))
        b = await send(client, **postback("D-4", ts_token="tok-b"))
        assert (a["duplicate"], b["duplicate"]) == (False, False)
        assert (a["tenant"], b["tenant"]) == ("shopee", "lazada")

    async def test_dedup_off_keeps_every_row_as_its_own(self, client, db):
        await create_tenant(client._transport.app, "raw", ts_token="tok-raw", dedup_enabled=False)
        results = [await send(client, **postback("D-5", ts_token="tok-raw")) for _ in range(3)]
        assert [r["duplicate"] for r in results] == [False, False, False]
        assert await db.fetchval("SELECT count(*) FROM conversion WHERE NOT is_duplicate") == 3

    async def test_hundred_identical_postbacks_at_once_leave_one_first_row(self, client, db):
        params = postback("RACE-1")
        responses = await asyncio.gather(
            *(client.get("/postback/", params=params) for _ in range(100))
        )
        assert all(r.status_code == 200 for r in responses)
        bodies = [r.json() for r in responses]
        assert sum(not b["duplicate"] for b in bodies) == 1
        first_id = next(b["id"] for b in bodies if not b["duplicate"])
        rows = await db.fetch("SELECT id, is_duplicate, first_id FROM conversion")
        assert len(rows) == 100
        assert [r["id"] for r in rows if not r["is_duplicate"]] == [first_id]
        assert {r["first_id"] for r in rows if r["is_duplicate"]} == {first_id}
        assert {b["id"] for b in bodies} == {r["id"] for r in rows}

    async def test_race_across_concurrent_batches(self, client, db):
        """Many conversion ids, each sent several times at once, across several batches."""
        calls = [client.get("/postback/", params=postback(f"MANY-{i % 25}")) for i in range(200)]
        responses = await asyncio.gather(*calls)
        assert all(r.status_code == 200 for r in responses)
        firsts = await db.fetchval("SELECT count(*) FROM conversion WHERE NOT is_duplicate")
        per_id = await db.fetchval(
            "SELECT max(n) FROM (SELECT count(*) n FROM conversion WHERE NOT is_duplicate "
            "GROUP BY conversion_id) x"
        )
        assert (firsts, per_id) == (25, 1)
        assert await db.fetchval("SELECT count(*) FROM conversion") == 200


class TestTenantResolution:
    @pytest.fixture
    async def tenants(self, client):
        app = client._transport.app
        await create_tenant(app, "by-ts-token", ts_token="T1")
        await create_tenant(app, "by-ts-param", ts_param="P1")
        await create_tenant(app, "by-tlm-token", tlm_token="L1")

    @pytest.mark.parametrize(
        ("tokens", "tenant"),
        [
            ({"ts_token": "T1", "ts_param": "P1", "tlm_token": "L1"}, "by-ts-token"),
            ({"ts_param": "P1", "tlm_token": "L1"}, "by-ts-param"),
            ({"tlm_token": "L1"}, "by-tlm-token"),
            ({"ts_token": "nope", "ts_param": "P1"}, "by-ts-param"),
            ({"ts_token": "nope"}, "default"),
            ({}, "default"),
            ({"ts_token": "{ts_token}", "tlm_token": "L1"}, "by-tlm-token"),
        ],
    )
    async def test_order(self, client, db, tenants, tokens, tenant):
        body = await send(client, conversion_id="R-1", **tokens)
        assert body["tenant"] == tenant

    async def test_token_in_json_body(self, client, db, tenants):
        response = await client.post("/postback/", json={"conversion_id": "R-2", "ts_param": "P1"})
        assert response.json()["tenant"] == "by-ts-param"

    async def test_strict_mode_refuses_unknown_tokens(self, client, db, tenants):
        service = client._transport.app.state.ingest
        service.strict_tokens = True
        try:
            response = await client.get(
                "/postback/", params={"conversion_id": "R-3", "ts_token": "nope"}
            )
            no_token = await client.get("/postback/", params={"conversion_id": "R-4"})
        finally:
            service.strict_tokens = False
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "ts_token"
        assert no_token.json()["tenant"] == "default"
        rejection = await db.fetchrow("SELECT reason, conversion_id FROM rejection")
        assert (rejection["reason"], rejection["conversion_id"]) == ("unknown_token", "R-3")

    async def test_disabled_tenant_is_refused_and_logged(self, client, db, tenants):
        await db.execute("UPDATE tenant SET enabled = false WHERE slug = 'by-ts-token'")
        await client._transport.app.state.directory.reload()
        response = await client.get("/postback/", params={"conversion_id": "R-5", "ts_token": "T1"})
        assert response.status_code == 422
        assert "disabled" in response.json()["errors"][0]["message"]
        rejection = await db.fetchrow("SELECT reason, tenant_id FROM rejection")
        assert rejection["reason"] == "tenant_disabled"
        assert rejection["tenant_id"] is not None

    async def test_tenant_created_elsewhere_is_found_without_waiting(self, client, db):
        """A token unknown to this instance's cache triggers a reload before falling back."""
        await db.execute(
            "INSERT INTO tenant (slug, name, ts_token_hash) VALUES ('late', 'Late', "
            "encode(sha256('LATE-TOKEN'::bytea), 'hex'))"
        )
        body = await send(client, conversion_id="R-6", ts_token="LATE-TOKEN")
        assert body["tenant"] == "late"
