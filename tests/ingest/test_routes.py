"""The postback endpoint as the network's servers see it, checked against the database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import httpx
import orjson
import pytest

from tests.factories import create_tenant, postback


async def stored(db: asyncpg.Connection, row_id: int) -> asyncpg.Record:
    record = await db.fetchrow("SELECT * FROM conversion WHERE id = $1", row_id)
    assert record is not None, "an acknowledged postback must be in the database"
    return record


class TestAccepted:
    async def test_get_with_slash_stores_every_field_typed(self, client, db):
        response = await client.get("/postback/", params=postback("C-100"))
        assert response.status_code == 200
        body = response.json()
        assert body == {
            "status": "ok",
            "id": body["id"],
            "conversion_id": "C-100",
            "duplicate": False,
            "tenant": "default",
        }
        row = await stored(db, body["id"])
        assert row["conversion_id"] == "C-100"
        assert row["offer_id"] == "1001"
        assert row["offer_name"] == "Shopee MY"
        assert row["order_id"] == "ORD-C-100"
        assert row["sale_amount_local"] == Decimal("120.50")
        assert row["usd_payout"] == Decimal("1.35")
        assert row["conversion_currency"] == "MYR"
        assert row["status"] == "pending"
        assert row["aff_sub"] == "campaign-a"
        assert row["source_ip"].compressed == "203.0.113.7"
        assert row["is_duplicate"] is False

    async def test_without_slash_is_answered_directly(self, client, db):
        response = await client.get("/postback", params=postback("C-101"))
        assert response.status_code == 200
        await stored(db, response.json()["id"])

    async def test_json_body(self, client, db):
        payload = postback("C-102", sale_amount_local=99.9, usd_payout=2)
        response = await client.post("/postback/", json=payload)
        assert response.status_code == 200
        row = await stored(db, response.json()["id"])
        assert row["sale_amount_local"] == Decimal("99.9")
        assert row["usd_payout"] == Decimal("2")
        assert orjson.loads(row["raw"])["sale_amount_local"] == 99.9

    async def test_form_body(self, client, db):
        response = await client.post("/postback", data=postback("C-103"))
        assert response.status_code == 200
        assert (await stored(db, response.json()["id"]))["conversion_id"] == "C-103"

    async def test_query_and_body_together(self, client, db):
        tenant = await create_tenant(client._transport.app, "zalora", ts_token="tok-zalora")
        response = await client.post(
            "/postback/?ts_token=tok-zalora", data={"conversion_id": "C-104"}
        )
        assert response.json()["tenant"] == "zalora"
        row = await stored(db, response.json()["id"])
        assert row["tenant_id"] == tenant.tenant.id

    async def test_unknown_parameters_are_kept_in_raw(self, client, db):
        response = await client.get("/postback/", params=postback("C-105", click_id="abc", x="1"))
        raw = orjson.loads((await stored(db, response.json()["id"]))["raw"])
        assert raw["click_id"] == "abc"
        assert raw["x"] == "1"
        assert raw["conversion_id"] == "C-105"

    async def test_a_parameter_repeated_with_the_same_value_is_accepted(self, client, db):
        response = await client.get("/postback/?conversion_id=C-106&aff_sub=a&aff_sub=a")
        assert response.status_code == 200, response.text
        row = await stored(db, response.json()["id"])
        assert row["aff_sub"] == "a"
        assert orjson.loads(row["raw"])["aff_sub"] == ["a", "a"]

    async def test_tokens_are_not_kept_in_clear(self, client, db):
        await create_tenant(client._transport.app, "lazada", ts_token="secret-token-1")
        response = await client.get(
            "/postback/", params=postback("C-107", ts_token="secret-token-1")
        )
        row = await stored(db, response.json()["id"])
        assert "secret-token-1" not in row["raw"]
        assert orjson.loads(row["raw"])["ts_token"].startswith("sha256:")
        tenant_row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'lazada'")
        assert "secret-token-1" not in repr(dict(tenant_row))


class TestCleaning:
    async def test_whitespace_is_trimmed(self, client, db):
        response = await client.get(
            "/postback/", params={"conversion_id": "  C-200 \t", "offer_name": "  Lazada  "}
        )
        row = await stored(db, response.json()["id"])
        assert row["conversion_id"] == "C-200"
        assert row["offer_name"] == "Lazada"

    async def test_unfilled_macros_are_empty(self, client, db):
        response = await client.get(
            "/postback/",
            params={
                "conversion_id": "C-201",
                "aff_sub": "{aff_sub}",
                "adv_sub2": "{adv_sub2}",
                "usd_payout": "{usd_payout}",
                "datetime_conversion": "{datetime_conversion}",
            },
        )
        assert response.status_code == 200
        row = await stored(db, response.json()["id"])
        assert row["aff_sub"] is None
        assert row["adv_sub2"] is None
        assert row["usd_payout"] is None
        assert row["datetime_conversion"] is None

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1,234.50", Decimal("1234.50")),
            ("1234567.891234", Decimal("1234567.891234")),
            ("0.1", Decimal("0.1")),
            ("-5.25", Decimal("-5.25")),
            (" 12 ", Decimal("12")),
            ("999,999,999,999.99", Decimal("999999999999.99")),
        ],
    )
    async def test_amounts_are_exact(self, client, db, text, expected):
        response = await client.get(
            "/postback/", params={"conversion_id": "C-202", "sale_amount_local": text}
        )
        assert response.status_code == 200, response.text
        row = await stored(db, response.json()["id"])
        assert row["sale_amount_local"] == expected

    async def test_currency_upper_cased(self, client, db):
        response = await client.get(
            "/postback/", params={"conversion_id": "C-203", "conversion_currency": " idr "}
        )
        assert (await stored(db, response.json()["id"]))["conversion_currency"] == "IDR"

    @pytest.mark.parametrize(
        ("raw", "normalised"),
        [
            ("Approved", "approved"),
            ("PENDING", "pending"),
            ("declined", "rejected"),
            ("Cancelled", "rejected"),
            ("paid", "paid"),
            ("something new", "other"),
        ],
    )
    async def test_status_normalised_original_kept(self, client, db, raw, normalised):
        response = await client.get("/postback/", params={"conversion_id": "C-204", "status": raw})
        row = await stored(db, response.json()["id"])
        assert row["status"] == normalised
        assert row["status_raw"] == raw

    async def test_missing_status_is_unknown(self, client, db):
        response = await client.get("/postback/", params={"conversion_id": "C-205"})
        row = await stored(db, response.json()["id"])
        assert (row["status"], row["status_raw"]) == ("unknown", None)

    async def test_aliases_adv_sub1_and_aff_sub1(self, client, db):
        response = await client.get(
            "/postback/", params={"conversion_id": "C-206", "adv_sub1": "adv", "aff_sub1": "aff"}
        )
        row = await stored(db, response.json()["id"])
        assert (row["adv_sub"], row["aff_sub"]) == ("adv", "aff")


class TestTime:
    async def test_naive_time_is_read_in_the_reporting_timezone(self, client, db):
        # Default tenant, reporting timezone Asia/Kuala_Lumpur (UTC+8).
        response = await client.get(
            "/postback/",
            params={"conversion_id": "T-1", "datetime_conversion": "2026-11-20 10:15:00"},
        )
        row = await stored(db, response.json()["id"])
        assert row["datetime_conversion"] == datetime(2026, 11, 20, 2, 15, tzinfo=UTC)

    async def test_naive_time_is_read_in_the_tenants_timezone(self, client, db):
        await create_tenant(
            client._transport.app, "jakarta", ts_token="tok-jkt", timezone="Asia/Jakarta"
        )
        response = await client.get(
            "/postback/",
            params={
                "conversion_id": "T-2",
                "ts_token": "tok-jkt",
                "datetime_conversion": "2026-11-20 10:15:00",
            },
        )
        row = await stored(db, response.json()["id"])
        assert row["datetime_conversion"] == datetime(2026, 11, 20, 3, 15, tzinfo=UTC)

    async def test_iso_with_offset(self, client, db):
        response = await client.get(
            "/postback/",
            params={
                "conversion_id": "T-3",
                "datetime_conversion": "2026-11-20T10:15:00+07:00",
                "datetime_conversion_updated": "2026-11-21T00:00:00Z",
            },
        )
        row = await stored(db, response.json()["id"])
        assert row["datetime_conversion"] == datetime(2026, 11, 20, 3, 15, tzinfo=UTC)
        assert row["datetime_conversion_updated"] == datetime(2026, 11, 21, tzinfo=UTC)

    async def test_epoch_seconds(self, client, db):
        response = await client.get(
            "/postback/", params={"conversion_id": "T-4", "datetime_conversion": "1763633700"}
        )
        row = await stored(db, response.json()["id"])
        assert row["datetime_conversion"] == datetime.fromtimestamp(1763633700, tz=UTC)

    async def test_without_time_the_received_time_is_the_conversion_time(self, client, db):
        response = await client.get("/postback/", params={"conversion_id": "T-5"})
        row = await stored(db, response.json()["id"])
        assert row["datetime_conversion"] is None
        assert row["occurred_at"] == row["received_at"]


def refused(response: httpx.Response, status: int, field: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert field in fields, body
    return fields[field]


async def last_rejection(db: asyncpg.Connection) -> asyncpg.Record:
    record = await db.fetchrow("SELECT * FROM rejection ORDER BY id DESC LIMIT 1")
    assert record is not None, "a refused postback must be logged"
    return record


class TestRefused:
    async def test_missing_conversion_id(self, client, db):
        response = await client.get("/postback/", params={"offer_id": "1", "usd_payout": "1"})
        assert "required" in refused(response, 422, "conversion_id")
        rejection = await last_rejection(db)
        assert rejection["reason"] == "invalid"
        assert orjson.loads(rejection["payload"]) == {"offer_id": "1", "usd_payout": "1"}
        assert await db.fetchval("SELECT count(*) FROM conversion") == 0

    @pytest.mark.parametrize(
        "value",
        [
            "abc",
            "NaN",
            "nan",
            "Infinity",
            "-inf",
            "1e5",
            "1,2",
            "1.2.3",
            "1e400",
            "10000000000000",
            "1.1234567",
            "",
            "+",
        ],
    )
    async def test_bad_amounts(self, client, db, value):
        response = await client.get(
            "/postback/", params={"conversion_id": "R-1", "usd_payout": value or "x y"}
        )
        refused(response, 422, "usd_payout")
        rejection = await last_rejection(db)
        assert orjson.loads(rejection["payload"])["usd_payout"] == (value or "x y")

    async def test_bad_currency(self, client, db):
        response = await client.get(
            "/postback/", params={"conversion_id": "R-2", "conversion_currency": "RMB1"}
        )
        assert "ISO 4217" in refused(response, 422, "conversion_currency")

    @pytest.mark.parametrize(
        "value",
        [
            "yesterday",
            "2026-13-01 00:00:00",
            "1970-01-01 00:00:00",
            "2999-01-01T00:00:00Z",
            "2026/11/20 10:00",
        ],
    )
    async def test_bad_datetime(self, client, db, value):
        response = await client.get(
            "/postback/", params={"conversion_id": "R-3", "datetime_conversion": value}
        )
        refused(response, 422, "datetime_conversion")

    async def test_every_bad_field_is_named(self, client, db):
        response = await client.get(
            "/postback/",
            params={
                "conversion_id": "R-4",
                "usd_payout": "x",
                "myr_payout": "y",
                "conversion_currency": "ZZZ",
            },
        )
        body = response.json()
        assert {e["field"] for e in body["errors"]} == {
            "usd_payout",
            "myr_payout",
            "conversion_currency",
        }

    async def test_too_long_values(self, client, db):
        response = await client.get("/postback/", params={"conversion_id": "x" * 256})
        refused(response, 422, "conversion_id")
        response = await client.get(
            "/postback/", params={"conversion_id": "ok", "aff_sub": "y" * 3000}
        )
        refused(response, 422, "aff_sub")

    async def test_nul_character(self, client, db):
        response = await client.get("/postback/?conversion_id=a%00b")
        assert "NUL" in refused(response, 422, "conversion_id")
        assert (await last_rejection(db))["reason"] == "invalid"

    async def test_json_list_value(self, client, db):
        response = await client.post("/postback/", json={"conversion_id": ["a", "b"]})
        refused(response, 422, "conversion_id")

    async def test_invalid_json(self, client, db):
        response = await client.post(
            "/postback/",
            content=b'{"conversion_id": ',
            headers={"content-type": "application/json"},
        )
        assert "JSON" in refused(response, 422, "body")
        assert (await last_rejection(db))["raw_text"].endswith('{"conversion_id": ')

    async def test_json_not_an_object(self, client, db):
        response = await client.post("/postback/", json=[1, 2])
        refused(response, 422, "body")

    async def test_deeply_nested_json(self, client, db):
        body = b'{"conversion_id": "N-1", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        response = await client.post(
            "/postback/", content=body, headers={"content-type": "application/json"}
        )
        refused(response, 422, "body")

    async def test_invalid_utf8_in_query(self, client, db):
        response = await client.get("/postback/?conversion_id=%FF%FE")
        assert "UTF-8" in refused(response, 422, "query")
        rejection = await last_rejection(db)
        assert rejection["reason"] == "bad_encoding"
        assert "%FF%FE" in rejection["raw_text"]

    async def test_invalid_utf8_in_body(self, client, db):
        response = await client.post(
            "/postback/",
            content=b"conversion_id=\xff\xfe",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        refused(response, 422, "body")
        assert "\\xff\\xfe" in (await last_rejection(db))["raw_text"]

    async def test_ten_thousand_parameters(self, client, db):
        query = "&".join("p=1" for _ in range(10_000))
        response = await client.post(
            "/postback/",
            content=query.encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        refused(response, 422, "body")
        assert (await last_rejection(db))["reason"] == "too_many_fields"

    async def test_a_parameter_repeated_with_other_values_is_refused_and_kept(self, client, db):
        response = await client.get(
            "/postback/?conversion_id=C-107&aff_sub=a&usd_payout=1&aff_sub=b&usd_payout=1"
            "&status=pending&status=approved"
        )
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert [e["field"] for e in errors] == ["aff_sub", "status"]
        assert "different values" in errors[0]["message"]
        assert await db.fetchval("SELECT count(*) FROM conversion") == 0
        rejection = await last_rejection(db)
        assert rejection["reason"] == "conflicting"
        assert rejection["conversion_id"] == "C-107"
        assert orjson.loads(rejection["payload"]) == {
            "conversion_id": "C-107",
            "aff_sub": ["a", "b"],
            "usd_payout": ["1", "1"],
            "status": ["pending", "approved"],
        }

    async def test_a_conflict_between_query_and_body_is_refused(self, client, db):
        await create_tenant(client._transport.app, "shopee", ts_token="tok-shopee")
        response = await client.post(
            "/postback/?conversion_id=C-108&ts_token=tok-shopee",
            json={"conversion_id": "C-109"},
        )
        assert "different values" in refused(response, 422, "conversion_id")
        rejection = await last_rejection(db)
        tenant_id = await db.fetchval("SELECT id FROM tenant WHERE slug = 'shopee'")
        assert rejection["tenant_id"] == tenant_id  # its token still names the partner

    async def test_query_too_long(self, client, db):
        response = await client.get("/postback/?conversion_id=1&pad=" + "x" * 20_000)
        refused(response, 414, "query")
        assert (await last_rejection(db))["reason"] == "too_large"

    async def test_body_too_large(self, client, db):
        response = await client.post(
            "/postback/",
            content=b"conversion_id=1&pad=" + b"x" * 100_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert "first 8192 bytes are kept" in refused(response, 413, "body")
        rejection = await last_rejection(db)
        assert rejection["reason"] == "too_large"
        assert rejection["raw_truncated"] is True
        assert rejection["tenant_id"] is None
        kept = "conversion_id=1&pad=" + "x" * (8192 - len("conversion_id=1&pad="))
        assert rejection["raw_text"] == "\n\n" + kept + "…"

    async def test_body_too_large_in_chunks_keeps_its_start_and_partner(self, client, db):
        await create_tenant(client._transport.app, "lazada", ts_token="tok-lazada")

        async def chunks():
            yield b"conversion_id=C-9&"
            for _ in range(20):
                yield b"y" * 5000

        response = await client.post(
            "/postback/?ts_token=tok-lazada",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        refused(response, 413, "body")
        rejection = await last_rejection(db)
        assert rejection["raw_truncated"] is True
        assert rejection["raw_text"].startswith("ts_token=tok-lazada\n\nconversion_id=C-9&yyy")
        assert len(rejection["raw_text"]) == len("ts_token=tok-lazada\n\n") + 8192 + 1
        lazada = await db.fetchval("SELECT id FROM tenant WHERE slug = 'lazada'")
        assert rejection["tenant_id"] == lazada

    async def test_a_small_refused_body_is_kept_whole(self, client, db):
        response = await client.post(
            "/postback/", content=b"{bad json", headers={"content-type": "application/json"}
        )
        refused(response, 422, "body")
        rejection = await last_rejection(db)
        assert (rejection["raw_text"], rejection["raw_truncated"]) == ("\n\n{bad json", False)

    async def test_multipart_is_refused_clearly(self, client, db):
        response = await client.post("/postback/", files={"conversion_id": ("a", b"1")})
        refused(response, 415, "body")

    async def test_other_methods(self, client, db):
        response = await client.put("/postback/", json={"conversion_id": "1"})
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, POST"

    async def test_sql_and_script_looking_values_are_stored_verbatim(self, client, db):
        evil = "'; DROP TABLE conversion; --<script>alert(1)</script>"
        response = await client.get("/postback/", params={"conversion_id": "E-1", "aff_sub": evil})
        assert response.status_code == 200
        assert (await stored(db, response.json()["id"]))["aff_sub"] == evil
