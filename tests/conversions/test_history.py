"""A conversion's history: its first row, every duplicate and status change in arrival order,
and the raw payloads, for the admin and for the partner it belongs to only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import create_tenant, postback


async def send(client: httpx.AsyncClient, conversion_id: str, **fields: Any) -> int:
    response = await client.get("/postback/", params=postback(conversion_id, **fields))
    assert response.status_code == 200, response.text
    row_id: int = response.json()["id"]
    return row_id


@pytest.fixture
async def acme(app, db) -> dict[str, str]:
    created = await create_tenant(app, "acme", ts_token="tok-acme")
    return {"Authorization": f"Bearer {created.secrets['api_key']}"}


async def history(client: httpx.AsyncClient, pk: int, headers: dict[str, str]) -> Any:
    response = await client.get(f"/postback/conversions/{pk}/history", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


class TestHistory:
    async def test_first_row_duplicates_and_status_changes_in_order(
        self, client, acme, admin_headers
    ):
        sent = [
            ("Pending", "10.00"),
            ("pending", "10.00"),  # a repeat: same status
            ("Approved", "12.00"),  # a change
            (None, "12.00"),  # no status: changes nothing
            ("Reversed", "0.00"),  # a change (a synonym of rejected)
        ]
        ids = [
            await send(
                client,
                "H-1",
                ts_token="tok-acme",
                status=status,
                usd_sale_amount=sale,
                aff_sub=f"step-{n}",
            )
            for n, (status, sale) in enumerate(sent)
        ]
        await send(client, "H-2", ts_token="tok-acme")  # another conversion: not in it

        body = await history(client, ids[2], admin_headers)
        assert body["total_entries"] == 5
        assert body["conversion"]["id"] == ids[0]
        assert body["conversion"]["status"] == "rejected"  # the current status
        entries = body["entries"]
        assert [e["id"] for e in entries] == ids
        assert [e["is_duplicate"] for e in entries] == [False, True, True, True, True]
        assert [e["status"] for e in entries] == [
            "pending",
            "pending",
            "approved",
            "unknown",
            "rejected",
        ]
        assert [e["status_raw"] for e in entries] == [
            "Pending",
            "pending",
            "Approved",
            None,
            "Reversed",
        ]
        assert [e["status_changed"] for e in entries] == [False, False, True, False, True]
        assert [e["previous_status"] for e in entries] == [
            None,
            None,
            "pending",
            None,
            "approved",
        ]
        assert [e["usd_sale_amount"] for e in entries] == [
            "10.00",
            "10.00",
            "12.00",
            "12.00",
            "0.00",
        ]
        assert [e["raw"]["aff_sub"] for e in entries] == [f"step-{n}" for n in range(5)]
        # The partner's token is never shown back, only its fingerprint.
        assert all(e["raw"]["ts_token"] != "tok-acme" for e in entries)
        assert "tok-acme" not in str(body)

    async def test_any_row_of_it_gives_the_same_history(self, client, acme, admin_headers):
        ids = [await send(client, "H-3", status=s) for s in ("pending", "approved", "approved")]
        answers = [await history(client, pk, admin_headers) for pk in ids]
        assert answers[0] == answers[1] == answers[2]

    async def test_a_partner_without_duplicate_flags(self, app, client, db, admin_headers):
        await create_tenant(app, "nodup", ts_token="tok-nodup", dedup_enabled=False)
        ids = [
            await send(client, "H-4", ts_token="tok-nodup", status=s)
            for s in ("pending", "approved")
        ]
        body = await history(client, ids[1], admin_headers)
        assert [e["id"] for e in body["entries"]] == ids
        assert [e["is_duplicate"] for e in body["entries"]] == [False, False]
        assert [e["status_changed"] for e in body["entries"]] == [False, True]
        assert body["conversion"]["id"] == ids[0]

    async def test_same_conversion_id_at_another_partner_is_not_part_of_it(
        self, app, client, acme, admin_headers
    ):
        mine = await send(client, "H-5", ts_token="tok-acme")
        await send(client, "H-5")  # the default partner's own H-5
        body = await history(client, mine, admin_headers)
        assert [e["id"] for e in body["entries"]] == [mine]


class TestWhoMaySeeIt:
    async def test_its_partner(self, client, acme):
        pk = await send(client, "H-6", ts_token="tok-acme")
        body = await history(client, pk, acme)
        assert body["conversion"]["tenant"] == "acme"

    async def test_another_partner_gets_not_found(self, client, acme):
        theirs = await send(client, "H-7")  # the default partner's
        response = await client.get(f"/postback/conversions/{theirs}/history", headers=acme)
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "id"
        assert "H-7" not in response.text

    async def test_nobody(self, client, db):
        response = await client.get("/postback/conversions/1/history")
        assert response.status_code == 401

    @pytest.mark.parametrize("pk", ["0", "x", "9223372036854775808"])
    async def test_an_id_that_cannot_be_one(self, client, db, admin_headers, pk):
        response = await client.get(f"/postback/conversions/{pk}/history", headers=admin_headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "conversion_pk"
