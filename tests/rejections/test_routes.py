"""`/api/rejections` and replay, as an operator works the queue: every refusal listed, filters,
a partner's key limited to its own, replay single, corrected, repeated, concurrent and bulk,
each checked against the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from tests.factories import create_tenant, postback


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def last_rejection_id(db: asyncpg.Connection) -> int:
    value = await db.fetchval("SELECT max(id) FROM rejection")
    assert value is not None
    return int(value)


async def refuse(client: httpx.AsyncClient, db: asyncpg.Connection, **params: Any) -> int:
    """Send a postback that is refused; the id of its rejection."""
    response = await client.get("/postback/", params=params)
    assert 400 <= response.status_code < 500, response.text
    return await last_rejection_id(db)


async def rejections(client, headers, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/rejections", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def replay(client, headers, rejection_id: int, body: Any = None) -> httpx.Response:
    kwargs = {"json": body} if body is not None else {}
    return await client.post(f"/api/rejections/{rejection_id}/replay", headers=headers, **kwargs)


async def conversions(db: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await db.fetch("SELECT * FROM conversion ORDER BY id")
    return rows


class TestEveryRefusalIsListed:
    async def test_whole_request_refusals_too(self, client, db, admin_headers):
        sent = [
            await client.get("/postback/", params={"conversion_id": "R-1", "usd_payout": "x"}),
            await client.get("/postback/?conversion_id=R-2&aff_sub=a&aff_sub=b"),
            await client.get("/postback/?conversion_id=%FF"),
            await client.get("/postback/?conversion_id=R-3&pad=" + "x" * 20_000),
            await client.post(
                "/postback/", content=b"{not json", headers={"content-type": "application/json"}
            ),
            await client.post(
                "/postback/",
                content=b"conversion_id=R-4&pad=" + b"p" * 70_000,
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
            await client.post(
                "/postback/",
                content=b"conversion_id=\xff",
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
            await client.post("/postback/", files={"conversion_id": ("a", b"1")}),
        ]
        statuses = [r.status_code for r in sent]
        assert statuses == [422, 422, 422, 414, 422, 413, 422, 415]

        listed = await rejections(client, admin_headers, page_size=1000)
        assert listed["total"] == len(sent) == len(listed["items"])
        info = (await client.get("/info")).json()
        assert info["rows"]["rejection"]["rows"] == len(sent)
        by_reason = sorted(item["reason"] for item in listed["items"])
        assert by_reason == sorted(
            ["invalid", "conflicting", "bad_encoding", "too_large", "invalid", "too_large",
             "bad_encoding", "unsupported"]
        )  # fmt: skip
        newest_first = [item["id"] for item in listed["items"]]
        assert newest_first == sorted(newest_first, reverse=True)
        too_large = [i for i in listed["items"] if i["reason"] == "too_large"]
        assert all(i["raw_truncated"] for i in too_large)
        body_413 = next(i for i in too_large if i["errors"][0]["field"] == "body")
        assert body_413["raw_text"].startswith("\n\nconversion_id=R-4&pad=ppp")
        assert body_413["payload"] is None
        assert body_413["source_ip"] == "203.0.113.7"
        conflicting = next(i for i in listed["items"] if i["reason"] == "conflicting")
        assert conflicting["payload"] == {"conversion_id": "R-2", "aff_sub": ["a", "b"]}
        assert conflicting["replayed"] is False

    async def test_one_by_id(self, client, db, admin_headers):
        rejection_id = await refuse(client, db, conversion_id="R-9", usd_payout="lots")
        response = await client.get(f"/api/rejections/{rejection_id}", headers=admin_headers)
        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["conversion_id"], body["tenant"]) == (
            rejection_id,
            "R-9",
            "default",
        )
        assert body["errors"] == [{"field": "usd_payout", "message": body["errors"][0]["message"]}]
        missing = await client.get(f"/api/rejections/{rejection_id + 1}", headers=admin_headers)
        assert missing.status_code == 404


@pytest.fixture
async def queue(app, client, db) -> dict[str, Any]:
    """Rejections of two partners and of no partner, at known times."""
    alpha = await create_tenant(app, "alpha", ts_token="tok-alpha")
    bravo = await create_tenant(app, "bravo", ts_token="tok-bravo")
    alpha_token, bravo_token = {"ts_token": "tok-alpha"}, {"ts_token": "tok-bravo"}
    ids = {
        "alpha-invalid": await refuse(
            client, db, conversion_id="A-1", usd_payout="x", **alpha_token
        ),
        "alpha-conflict": await refuse(
            client, db, conversion_id="A-2", status=["a", "b"], **alpha_token
        ),
        "bravo-invalid": await refuse(
            client, db, conversion_id="B-1", conversion_currency="Z", **bravo_token
        ),
    }
    assert (await client.get("/postback/?conversion_id=%FF")).status_code == 422
    ids["nobody"] = await last_rejection_id(db)
    # Spread over three days, so time filters have something to tell apart.
    day = datetime(2026, 11, 10, 12, tzinfo=UTC)
    for offset, key in enumerate(("alpha-invalid", "alpha-conflict", "bravo-invalid", "nobody")):
        await db.execute(
            "UPDATE rejection SET received_at = $1 WHERE id = $2",
            day + timedelta(days=offset),
            ids[key],
        )
    return {"ids": ids, "alpha": alpha, "bravo": bravo}


class TestFilters:
    async def listed(self, client, headers, **params: Any) -> list[int]:
        return [item["id"] for item in (await rejections(client, headers, **params))["items"]]

    async def test_each_filter(self, client, db, admin_headers, queue):
        ids = queue["ids"]
        get = lambda **p: self.listed(client, admin_headers, **p)  # noqa: E731
        everything = [
            ids[k] for k in ("nobody", "bravo-invalid", "alpha-conflict", "alpha-invalid")
        ]
        assert await get() == everything
        assert await get(tenant="alpha") == [ids["alpha-conflict"], ids["alpha-invalid"]]
        assert await get(tenant="bravo") == [ids["bravo-invalid"]]
        assert await get(reason="conflicting") == [ids["alpha-conflict"]]
        assert await get(reason="invalid", tenant="bravo") == [ids["bravo-invalid"]]
        # Naive dates are read in the reporting timezone (UTC+8): Nov 11 starts at 16:00 UTC
        # on Nov 10, after the first rejection (12:00 UTC on Nov 10).
        assert await get(since="2026-11-11") == everything[:3]
        assert await get(since="2026-11-11", until="2026-11-12") == [ids["alpha-conflict"]]
        assert await get(until="2026-11-10T12:00:00+00:00") == []
        assert await get(until="2026-11-10T12:00:01+00:00") == [ids["alpha-invalid"]]
        assert await get(replayed="false") == everything
        assert await get(replayed="true") == []

    async def test_paginated(self, client, admin_headers, queue):
        first = await rejections(client, admin_headers, page_size=3)
        second = await rejections(client, admin_headers, page_size=3, page=2)
        assert (first["total"], second["total"]) == (4, 4)
        assert (len(first["items"]), len(second["items"])) == (3, 1)
        assert (second["page"], second["page_size"]) == (2, 3)

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"partner": "alpha"}, "partner"),
            ({"conversion_id": "A-1"}, "conversion_id"),
            ({"reason": "bogus"}, "reason"),
            ({"since": "yesterday-ish"}, "since"),
            ({"replayed": "perhaps"}, "replayed"),
            ({"tenant": "nobody-here"}, "tenant"),
            ({"page_size": 0}, "page_size"),
        ],
    )
    async def test_bad_filters_are_named(self, client, admin_headers, queue, params, field):
        response = await client.get("/api/rejections", params=params, headers=admin_headers)
        assert response.status_code in (404, 422), response.text
        assert field in [e["field"] for e in response.json()["errors"]]


class TestAPartnersKey:
    async def test_sees_only_its_own(self, client, admin_headers, queue):
        ids, key = queue["ids"], queue["alpha"].secrets["api_key"]
        own = [ids["alpha-conflict"], ids["alpha-invalid"]]
        for params in ({}, {"tenant": "bravo"}, {"reason": "invalid"}):
            listed = await rejections(client, bearer(key), **params)
            assert [i["id"] for i in listed["items"]] == [
                i for i in own if "reason" not in params or i == ids["alpha-invalid"]
            ]
        for other in (ids["bravo-invalid"], ids["nobody"]):
            response = await client.get(f"/api/rejections/{other}", headers=bearer(key))
            assert response.status_code == 404

    async def test_cannot_replay(self, client, queue):
        key = queue["alpha"].secrets["api_key"]
        response = await replay(client, bearer(key), queue["ids"]["alpha-invalid"])
        assert response.status_code == 403
        bulk = await client.post("/api/rejections/replay", headers=bearer(key))
        assert bulk.status_code == 403


class TestReplay:
    async def test_still_invalid_names_the_fields_and_stays_in_the_queue(
        self, client, db, admin_headers
    ):
        rejection_id = await refuse(
            client, db, **postback("RP-1", usd_payout="lots", conversion_currency="ZZZ")
        )
        response = await replay(client, admin_headers, rejection_id)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == [
            "usd_payout",
            "conversion_currency",
        ]
        partly = await replay(client, admin_headers, rejection_id, {"fields": {"usd_payout": "2"}})
        assert [e["field"] for e in partly.json()["errors"]] == ["conversion_currency"]
        row = await db.fetchrow("SELECT * FROM rejection WHERE id = $1", rejection_id)
        assert row["replayed_at"] is None
        assert await conversions(db) == []
        assert await db.fetchval("SELECT count(*) FROM rejection") == 1  # no new rejection

    async def test_corrected_then_repeated_stores_once(self, client, db, admin_headers):
        rejection_id = await refuse(client, db, **postback("RP-2", usd_payout="1,35"))
        received_at = await db.fetchval(
            "SELECT received_at FROM rejection WHERE id = $1", rejection_id
        )
        fix = {"fields": {"usd_payout": "1.35", "aff_sub2": "fixed-by-ops"}}
        first = await replay(client, admin_headers, rejection_id, fix)
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["status"] == "replayed"
        assert body["duplicate"] is False
        (row,) = await conversions(db)
        assert body["conversion_pk"] == row["id"]
        assert (row["conversion_id"], row["usd_payout"]) == ("RP-2", Decimal("1.35"))
        assert row["aff_sub2"] == "fixed-by-ops"
        assert row["usd_sale_amount"] == Decimal("27.10")  # the rest as it was sent
        assert row["received_at"] == received_at  # when the sender sent it
        assert row["source_ip"].compressed == "203.0.113.7"
        raw = orjson.loads(row["raw"])
        assert raw["usd_payout"] == "1.35"
        assert raw["_replay"] == {
            "rejection_id": rejection_id,
            "corrected": ["aff_sub2", "usd_payout"],
        }
        marked = await db.fetchrow("SELECT * FROM rejection WHERE id = $1", rejection_id)
        assert marked["replayed_at"] is not None
        assert marked["replayed_by"] == "admin token"
        assert marked["replayed_conversion_pk"] == row["id"]
        assert marked["replay_receipt_id"] == row["receipt_id"]
        assert body["rejection"]["replayed"] is True

        again = await replay(client, admin_headers, rejection_id, {"fields": {"usd_payout": "9"}})
        assert again.status_code == 200
        assert (again.json()["status"], again.json()["conversion_pk"]) == (
            "already_replayed",
            row["id"],
        )
        assert len(await conversions(db)) == 1

    async def test_stored_but_not_marked_is_not_stored_twice(self, client, db, admin_headers):
        """A crash between the conversion's commit and the mark's: the next replay finds the
        receipt already stored (the receipt id is the rejection's own) and stores nothing."""
        rejection_id = await refuse(client, db, **postback("RP-3", status=["a", "b"]))
        fix = {"fields": {"status": "approved"}}
        first = (await replay(client, admin_headers, rejection_id, fix)).json()
        await db.execute("UPDATE rejection SET replayed_at = NULL WHERE id = $1", rejection_id)
        second = (await replay(client, admin_headers, rejection_id, fix)).json()
        assert second["status"] == "replayed"
        assert second["conversion_pk"] == first["conversion_pk"]
        assert len(await conversions(db)) == 1

    async def test_concurrent_replays_store_once(self, client, db, admin_headers):
        rejection_id = await refuse(client, db, **postback("RP-4", usd_payout="?"))
        fix = {"fields": {"usd_payout": "4.00"}}
        answers = await asyncio.gather(
            *(replay(client, admin_headers, rejection_id, fix) for _ in range(4))
        )
        assert [a.status_code for a in answers] == [200] * 4
        statuses = sorted(a.json()["status"] for a in answers)
        assert statuses == ["already_replayed"] * 3 + ["replayed"]
        (row,) = await conversions(db)
        assert {a.json()["conversion_pk"] for a in answers} == {row["id"]}

    async def test_after_the_partners_options_change(self, app, client, db, admin_headers):
        euro = await create_tenant(app, "euro", ts_token="tok-euro")
        rejection_id = await refuse(
            client, db, **postback("EU-1", ts_token="tok-euro", usd_payout="1.234,5")
        )
        changed = await client.patch(
            f"/api/tenants/{euro.tenant.id}", json={"decimal_comma": True}, headers=admin_headers
        )
        assert changed.status_code == 200
        # The sender's other amounts use a point: for a decimal-comma partner they are
        # ambiguous, so they are corrected too.
        pointed = ("sale_amount_local", "myr_sale_amount", "usd_sale_amount", "payout_local")
        fix = {"fields": dict.fromkeys((*pointed, "myr_payout"))}
        response = await replay(client, admin_headers, rejection_id, fix)
        assert response.status_code == 200, response.text
        (row,) = await conversions(db)
        assert (row["tenant_id"], row["usd_payout"]) == (euro.tenant.id, Decimal("1234.5"))

    async def test_a_repeat_of_a_stored_conversion_is_a_duplicate(self, client, db, admin_headers):
        assert (await client.get("/postback/", params=postback("RP-5"))).status_code == 200
        rejection_id = await refuse(
            client, db, **postback("RP-5", status="approved", usd_payout="-")
        )
        body = (
            await replay(client, admin_headers, rejection_id, {"fields": {"usd_payout": None}})
        ).json()
        assert body["duplicate"] is True
        first, duplicate = await conversions(db)
        assert (duplicate["is_duplicate"], duplicate["first_id"]) == (True, first["id"])
        assert duplicate["usd_payout"] is None
        assert (
            await db.fetchval("SELECT status FROM conversion WHERE id = $1", first["id"])
            == "approved"
        )

    async def test_a_request_that_could_not_be_read_needs_its_fields(
        self, client, db, admin_headers
    ):
        response = await client.post(
            "/postback/", content=b"{oops", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        rejection_id = await last_rejection_id(db)
        bare = await replay(client, admin_headers, rejection_id)
        assert [e["field"] for e in bare.json()["errors"]] == ["fields"]
        fixed = await replay(client, admin_headers, rejection_id, {"fields": postback("RP-6")})
        assert fixed.status_code == 200, fixed.text
        (row,) = await conversions(db)
        assert (row["conversion_id"], row["tenant_id"]) == ("RP-6", 1)  # no token: the default

    async def test_tokens_that_named_no_partner_need_the_partner_named(
        self, app, client, db, admin_headers
    ):
        await create_tenant(app, "zalora", ts_token="tok-zalora")
        rejection_id = await refuse(
            client, db, **postback("RP-7", ts_token=["tok-zalora", "tok-other"])
        )
        assert (
            await db.fetchval("SELECT tenant_id FROM rejection WHERE id = $1", rejection_id) is None
        )
        unnamed = await replay(
            client, admin_headers, rejection_id, {"fields": {"ts_token": "tok-zalora"}}
        )
        assert [e["field"] for e in unnamed.json()["errors"]] == ["fields.ts_token"]
        unknown = await replay(client, admin_headers, rejection_id)
        assert [e["field"] for e in unknown.json()["errors"]] == ["tenant"]
        named = await replay(client, admin_headers, rejection_id, {"tenant": "zalora"})
        assert named.status_code == 200, named.text
        (row,) = await conversions(db)
        raw = orjson.loads(row["raw"])
        assert raw["ts_token"].startswith("sha256:")  # never in clear
        assert "tok-zalora" not in row["raw"]

    async def test_a_disabled_partner_is_refused(self, app, client, db, admin_headers):
        acme = await create_tenant(app, "acme", ts_token="tok-acme")
        rejection_id = await refuse(
            client, db, **postback("RP-8", ts_token="tok-acme", usd_payout="?")
        )
        await client.post(f"/api/tenants/{acme.tenant.id}/disable", headers=admin_headers)
        response = await replay(
            client, admin_headers, rejection_id, {"fields": {"usd_payout": "1"}}
        )
        assert response.status_code == 422
        assert "disabled" in response.json()["errors"][0]["message"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"fields": {"usd_payout": [1]}}, "fields.usd_payout"),
            ({"fields": {"a\u0000b": "1"}}, "fields"),
            ({"tenant": "NOT A SLUG"}, "tenant"),
            ({"fields": {"usd_payout": 10**400}}, "fields.usd_payout"),
            ({"fields": {"usd_payout": 10**30}}, "usd_payout"),  # as a float: out of range
            ({"other": 1}, "other"),
        ],
    )
    async def test_bad_corrections_are_named(self, client, db, admin_headers, body, field):
        rejection_id = await refuse(client, db, **postback("RP-9", usd_payout="?"))
        response = await replay(client, admin_headers, rejection_id, body)
        assert response.status_code == 422
        assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.text

    async def test_a_lone_surrogate_is_refused_not_a_500(self, client, db, admin_headers):
        rejection_id = await refuse(client, db, **postback("RP-10", usd_payout="?"))
        body = b'{"fields": {"aff_sub": "\\ud800", "usd_payout": "1"}}'
        response = await client.post(
            f"/api/rejections/{rejection_id}/replay",
            content=body,
            headers={**admin_headers, "content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"].startswith("fields.aff_sub")

    async def test_unknown_rejection(self, client, admin_headers):
        assert (await replay(client, admin_headers, 999_999)).status_code == 404


class TestBulkReplay:
    async def test_counts_each_outcome_and_stores_once(self, app, client, db, admin_headers):
        euro = await create_tenant(app, "euro", ts_token="tok-euro")
        dates = ("03/11/2026 10:00", "04/11/2026 11:30")
        fixable = [
            await refuse(
                client, db, conversion_id=f"BK-{i}", ts_token="tok-euro", datetime_conversion=d
            )
            for i, d in enumerate(dates)
        ]  # refused: without the option a date is read year first
        fixable.append(
            await refuse(
                client,
                db,
                conversion_id="BK-2",
                ts_token="tok-euro",
                datetime_conversion="05/11/2026",
            )
        )
        hopeless = await refuse(
            client, db, conversion_id="BK-3", ts_token="tok-euro", usd_payout="??"
        )
        other = await refuse(client, db, conversion_id="OT-1", usd_payout="??")
        done = fixable.pop(0)
        assert (
            await replay(
                client, admin_headers, done, {"fields": {"datetime_conversion": "2026-11-03 10:00"}}
            )
        ).status_code == 200
        await db.execute("UPDATE tenant SET day_first_dates = true WHERE id = $1", euro.tenant.id)
        await app.state.directory.reload()

        response = await client.post(
            "/api/rejections/replay", params={"tenant": "euro"}, headers=admin_headers
        )
        assert response.status_code == 200, response.text
        counts = {"replayed": 2, "still_invalid": 1, "already_replayed": 1, "unavailable": 0}
        assert response.json() == {**counts, "more": False}
        stored = {r["conversion_id"]: r["datetime_conversion"] for r in await conversions(db)}
        kl = 8
        assert stored == {
            "BK-0": datetime(2026, 11, 3, 10 - kl, tzinfo=UTC),
            "BK-1": datetime(2026, 11, 4, 11 - kl, 30, tzinfo=UTC),
            "BK-2": datetime(2026, 11, 4, 24 - kl, tzinfo=UTC),
        }
        states = dict(await db.fetch("SELECT id, replayed_at IS NOT NULL FROM rejection"))
        assert states == {**dict.fromkeys([done, *fixable], True), hopeless: False, other: False}

        again = await client.post(
            "/api/rejections/replay",
            params={"tenant": "euro", "replayed": "false"},
            headers=admin_headers,
        )
        counts = {"replayed": 0, "still_invalid": 1, "already_replayed": 0, "unavailable": 0}
        assert again.json() == {**counts, "more": False}
        everything = await client.post("/api/rejections/replay", headers=admin_headers)
        assert everything.json()["already_replayed"] == 3
        assert len(await conversions(db)) == 3

    async def test_unknown_filter_is_named(self, client, admin_headers):
        response = await client.post(
            "/api/rejections/replay", params={"page": 2}, headers=admin_headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "page"
