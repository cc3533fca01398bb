"""Managing partners through /api/tenants, as an operator with the admin token does it.

Each secret is checked the way a partner would notice: the postback lands (or not) in its
account, and its API key reads (or not) its data."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi.routing import iter_route_contexts

from postback.app import PostbackApp, create_app
from postback.ingest.fields import KNOWN_FIELDS, TOKEN_FIELDS
from tests.factories import postback
from tests.fixtures import ADMIN_TOKEN, make_settings

MACROS = sorted(KNOWN_FIELDS - set(TOKEN_FIELDS))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def refused(response: httpx.Response, status: int, field: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert field in fields, body
    assert fields[field]
    return fields[field]


class Api:
    """The admin's calls, each asserting the status it expects."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.headers = bearer(ADMIN_TOKEN)

    async def call(
        self, method: str, path: str, expect: int = 200, **kwargs: Any
    ) -> httpx.Response:
        response = await self.client.request(method, path, headers=self.headers, **kwargs)
        assert response.status_code == expect, response.text
        return response

    async def create(self, expect: int = 201, **fields: Any) -> dict[str, Any]:
        fields.setdefault("name", str(fields.get("slug", "x")).title())
        body: dict[str, Any] = (await self.call("POST", "/api/tenants", expect, json=fields)).json()
        return body

    async def get(self, tenant_id: int) -> dict[str, Any]:
        body: dict[str, Any] = (await self.call("GET", f"/api/tenants/{tenant_id}")).json()
        return body

    async def update(self, tenant_id: int, expect: int = 200, **fields: Any) -> httpx.Response:
        return await self.call("PATCH", f"/api/tenants/{tenant_id}", expect, json=fields)

    async def rotate(self, tenant_id: int, expect: int = 200, **body: Any) -> httpx.Response:
        return await self.call("POST", f"/api/tenants/{tenant_id}/rotate", expect, json=body)


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


async def send(client: httpx.AsyncClient, conversion_id: str, **fields: Any) -> httpx.Response:
    return await client.get("/postback/", params=postback(conversion_id, **fields))


async def landed_in(client: httpx.AsyncClient, conversion_id: str, **tokens: str) -> str:
    """The partner slug a postback with these tokens is stored under."""
    response = await send(client, conversion_id, **tokens)
    assert response.status_code == 200, response.text
    slug: str = response.json()["tenant"]
    return slug


async def stored_row(db: asyncpg.Connection, slug: str) -> dict[str, Any]:
    row = await db.fetchrow("SELECT * FROM tenant WHERE slug = $1", slug)
    assert row is not None
    return dict(row)


class TestCreate:
    async def test_shows_secrets_once_and_stores_them_hashed(self, api, client, db):
        body = await api.create(slug="acme", name="Acme Sdn Bhd", ts_token="tok-acme")
        api_key = body["secrets"]["api_key"]
        assert body["secrets"] == {"ts_token": "tok-acme", "api_key": api_key}
        assert len(api_key) >= 24
        assert "ts_token=tok-acme" in body["postback_url"]

        row = await stored_row(db, "acme")
        assert row["ts_token_hash"] == sha256("tok-acme")
        assert row["api_key_hash"] == sha256(api_key)
        assert "tok-acme" not in repr(row)
        assert api_key not in repr(row)

        # Never again: not on reading one, not in the list, and no hash either.
        for response in (
            await api.call("GET", f"/api/tenants/{body['id']}"),
            await api.call("GET", "/api/tenants"),
            await api.call("GET", f"/api/tenants/{body['id']}/postback-url"),
        ):
            for secret in ("tok-acme", api_key, row["ts_token_hash"], row["api_key_hash"]):
                assert secret not in response.text
            assert "hash" not in response.text

    async def test_the_answer(self, api):
        body = await api.create(slug="acme", name="Acme", ts_token="tok-acme")
        assert {k: v for k, v in body.items() if k not in ("secrets", "postback_url")} == {
            "id": body["id"],
            "name": "Acme",
            "slug": "acme",
            "is_default": False,
            "enabled": True,
            "retention_days": 7,
            "dedup_enabled": True,
            "rate_limit_per_minute": None,
            "timezone": None,
            "reporting_timezone": "Asia/Kuala_Lumpur",
            "day_first_dates": False,
            "decimal_comma": False,
            "secrets_set": ["api_key", "ts_token"],
            "conversions_today": 0,
            "last_postback_at": None,
            "created_at": body["created_at"],
            "updated_at": body["updated_at"],
        }
        created = datetime.fromisoformat(body["created_at"])
        assert abs(created - datetime.now(UTC)) < timedelta(minutes=5)
        assert await api.get(body["id"]) == {
            k: v for k, v in body.items() if k not in ("secrets", "postback_url")
        }

    async def test_every_field(self, api, db):
        body = await api.create(
            slug="jkt-partner",
            name="  Jakarta Partner  ",
            ts_param="param-jkt",
            tlm_token="tlm-jkt",
            retention_days=30,
            dedup_enabled=False,
            rate_limit_per_minute=600,
            timezone="Asia/Jakarta",
        )
        assert body["name"] == "Jakarta Partner"
        assert (body["retention_days"], body["dedup_enabled"]) == (30, False)
        assert body["rate_limit_per_minute"] == 600
        assert (body["timezone"], body["reporting_timezone"]) == ("Asia/Jakarta", "Asia/Jakarta")
        # Tokens were given, so none is generated.
        assert body["secrets_set"] == ["api_key", "ts_param", "tlm_token"]
        assert set(body["secrets"]) == {"api_key", "ts_param", "tlm_token"}
        row = await stored_row(db, "jkt-partner")
        assert row["ts_token_hash"] is None
        assert row["ts_param_hash"] == sha256("param-jkt")

    async def test_generates_a_token_when_none_is_given(self, api, client):
        body = await api.create(slug="acme")
        token = body["secrets"]["ts_token"]
        assert len(token) >= 24
        assert await landed_in(client, "G-1", ts_token=token) == "acme"

    async def test_the_partner_works_at_once(self, api, client, admin_headers):
        body = await api.create(slug="acme", ts_token="tok-acme")
        assert await landed_in(client, "A-1", ts_token="tok-acme") == "acme"
        listed = await client.get(
            "/postback/conversions", headers=bearer(body["secrets"]["api_key"])
        )
        assert listed.status_code == 200
        assert [i["conversion_id"] for i in listed.json()["items"]] == ["A-1"]

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"slug": "Acme Partner"}, "slug"),
            ({"slug": "-acme"}, "slug"),
            ({"slug": "x" * 64}, "slug"),
            ({"slug": "acme", "name": "   "}, "name"),
            ({"slug": "acme", "timezone": "Mars/Olympus_Mons"}, "timezone"),
            ({"slug": "acme", "timezone": "Asia/Kuala Lumpur"}, "timezone"),
            ({"slug": "acme", "timezone": ""}, "timezone"),
            ({"slug": "acme", "retention_days": 0}, "retention_days"),
            ({"slug": "acme", "retention_days": 2**40}, "retention_days"),
            ({"slug": "acme", "rate_limit_per_minute": 0}, "rate_limit_per_minute"),
            ({"slug": "acme", "ts_token": ""}, "ts_token"),
            ({"slug": "acme", "ts_token": "tok\u0000"}, "ts_token"),
            ({"slug": "acme", "name": "Acme\u0000"}, "name"),
            ({"slug": "acme", "timezone": "Asia/\u0000"}, "timezone"),
            ({"slug": "acme", "ts_param": "p" * 256}, "ts_param"),
            ({"slug": "acme", "api_key_hash": "0" * 64}, "api_key_hash"),
            ({"slug": "acme", "is_default": True}, "is_default"),
        ],
    )
    async def test_invalid(self, api, db, fields, field):
        response = await api.call("POST", "/api/tenants", 422, json={"name": "Acme"} | fields)
        refused(response, 422, field)
        assert await db.fetchval("SELECT count(*) FROM tenant") == 1


class TestConflicts:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"slug": "acme", "ts_token": "tok-new"}, "slug"),
            ({"slug": "other", "ts_token": "tok-acme"}, "ts_token"),
            ({"slug": "other", "ts_param": "param-acme"}, "ts_param"),
            ({"slug": "other", "tlm_token": "tlm-acme"}, "tlm_token"),
        ],
    )
    async def test_create_names_the_field(self, api, db, fields, field):
        await api.create(
            slug="acme", ts_token="tok-acme", ts_param="param-acme", tlm_token="tlm-acme"
        )
        response = await api.call("POST", "/api/tenants", 409, json={"name": "X"} | fields)
        message = refused(response, 409, field)
        assert "already used" in message
        assert await db.fetchval("SELECT count(*) FROM tenant") == 2

    async def test_the_same_value_as_another_kind_is_no_conflict(self, api):
        # Tokens are looked up by the parameter they arrive in, so they cannot be confused.
        await api.create(slug="acme", ts_token="shared-value")
        await api.create(slug="other", ts_param="shared-value")

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"slug": "acme"}, "slug"),
            ({"ts_token": "tok-acme"}, "ts_token"),
            ({"tlm_token": "tlm-acme"}, "tlm_token"),
        ],
    )
    async def test_update_names_the_field(self, api, db, fields, field):
        await api.create(slug="acme", ts_token="tok-acme", tlm_token="tlm-acme")
        other = await api.create(slug="other", ts_token="tok-other")
        response = await api.update(other["id"], 409, **fields)
        refused(response, 409, field)
        row = await stored_row(db, "other")
        assert row["ts_token_hash"] == sha256("tok-other")
        assert row["tlm_token_hash"] is None

    async def test_rotating_to_a_taken_token(self, api):
        await api.create(slug="acme", ts_param="param-acme")
        other = await api.create(slug="other")
        response = await api.rotate(other["id"], 409, kind="ts_param", value="param-acme")
        refused(response, 409, "ts_param")

    async def test_keeping_its_own_values_is_no_conflict(self, api):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        body = (await api.update(acme["id"], slug="acme", ts_token="tok-acme")).json()
        assert body["slug"] == "acme"


class TestRead:
    async def test_list(self, api):
        acme = await api.create(slug="acme")
        other = await api.create(slug="other", tlm_token="tlm-other")
        body = (await api.call("GET", "/api/tenants")).json()
        assert [(t["slug"], t["is_default"]) for t in body] == [
            ("default", True),
            ("acme", False),
            ("other", False),
        ]
        assert [t["id"] for t in body[1:]] == [acme["id"], other["id"]]
        assert body[0]["secrets_set"] == []
        assert body[2]["secrets_set"] == ["api_key", "tlm_token"]

    @pytest.mark.parametrize("path", ["/api/tenants/999", "/api/tenants/999/postback-url"])
    async def test_unknown_id(self, api, path):
        refused(await api.call("GET", path, 404), 404, "id")

    async def test_invalid_id(self, api):
        refused(await api.call("GET", "/api/tenants/abc", 422), 422, "tenant_id")
        refused(await api.call("GET", f"/api/tenants/{2**64}", 422), 422, "tenant_id")

    async def test_todays_conversions_and_last_postback(self, api, client):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        other = await api.create(slug="other", ts_token="tok-other")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        two_days_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")
        for conversion_id, moment in (("T-1", now), ("T-1", now), ("T-2", now)):
            await landed_in(client, conversion_id, ts_token="tok-acme", datetime_conversion=moment)
        await landed_in(client, "T-old", ts_token="tok-acme", datetime_conversion=two_days_ago)
        await landed_in(client, "O-1", ts_token="tok-other", datetime_conversion=now)

        body = await api.get(acme["id"])
        assert body["conversions_today"] == 2  # T-1 once (its duplicate is not new), T-2
        last = datetime.fromisoformat(body["last_postback_at"])
        assert abs(datetime.now(UTC) - last) < timedelta(minutes=5)
        assert (await api.get(other["id"]))["conversions_today"] == 1
        default = (await api.call("GET", "/api/tenants")).json()[0]
        assert (default["conversions_today"], default["last_postback_at"]) == (0, None)

    async def test_today_is_the_partners_own_day(self, api, client):
        """Kiritimati (UTC+14) starts its day while most of the world is still in yesterday."""
        zone = ZoneInfo("Pacific/Kiritimati")
        await api.create(slug="kiri", ts_token="tok-kiri", timezone="Pacific/Kiritimati")
        midnight = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        for conversion_id, moment in (
            ("K-yesterday", midnight - timedelta(minutes=1)),
            ("K-today", midnight + timedelta(minutes=1)),
        ):
            assert (
                await landed_in(
                    client,
                    conversion_id,
                    ts_token="tok-kiri",
                    datetime_conversion=moment.isoformat(),
                )
                == "kiri"
            )
        tenants = (await api.call("GET", "/api/tenants")).json()
        kiri = next(t for t in tenants if t["slug"] == "kiri")
        assert kiri["reporting_timezone"] == "Pacific/Kiritimati"
        assert kiri["conversions_today"] == 1


class TestUpdate:
    async def test_changes_only_the_fields_sent(self, api, db):
        acme = await api.create(slug="acme", ts_token="tok-acme", rate_limit_per_minute=60)
        body = (
            await api.update(
                acme["id"], name="Acme Two", retention_days=30, timezone="Asia/Jakarta"
            )
        ).json()
        assert (body["name"], body["retention_days"]) == ("Acme Two", 30)
        assert (body["timezone"], body["reporting_timezone"]) == ("Asia/Jakarta", "Asia/Jakarta")
        assert (body["slug"], body["rate_limit_per_minute"]) == ("acme", 60)
        assert body["dedup_enabled"] is True
        assert body["updated_at"] >= acme["updated_at"]
        assert "secrets" not in body
        row = await stored_row(db, "acme")
        assert (row["name"], row["retention_days"], row["timezone"]) == (
            "Acme Two",
            30,
            "Asia/Jakarta",
        )
        assert row["ts_token_hash"] == sha256("tok-acme")

    async def test_null_clears_the_limit_and_timezone(self, api):
        acme = await api.create(slug="acme", rate_limit_per_minute=60, timezone="Asia/Jakarta")
        body = (await api.update(acme["id"], rate_limit_per_minute=None, timezone=None)).json()
        assert body["rate_limit_per_minute"] is None
        assert (body["timezone"], body["reporting_timezone"]) == (None, "Asia/Kuala_Lumpur")

    async def test_an_empty_change_changes_nothing(self, api):
        acme = await api.create(slug="acme")
        body = (await api.update(acme["id"])).json()
        assert body["updated_at"] == acme["updated_at"]

    async def test_rename_slug(self, api, client):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        await api.update(acme["id"], slug="acme-my")
        assert await landed_in(client, "R-1", ts_token="tok-acme") == "acme-my"

    async def test_set_and_remove_tokens(self, api, client, db):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        body = (await api.update(acme["id"], ts_param="param-acme")).json()
        assert "param-acme" not in str(body)
        assert body["secrets_set"] == ["api_key", "ts_token", "ts_param"]
        assert await landed_in(client, "S-1", ts_param="param-acme") == "acme"

        body = (await api.update(acme["id"], ts_token=None)).json()
        assert body["secrets_set"] == ["api_key", "ts_param"]
        assert (await stored_row(db, "acme"))["ts_token_hash"] is None
        assert await landed_in(client, "S-2", ts_token="tok-acme") == "default"

    async def test_the_last_token_cannot_be_removed(self, api, db):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        message = refused(await api.update(acme["id"], 422, ts_token=None), 422, "ts_token")
        assert "at least one" in message
        assert (await stored_row(db, "acme"))["ts_token_hash"] == sha256("tok-acme")

    async def test_one_token_can_replace_another_at_once(self, api):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        body = (await api.update(acme["id"], ts_token=None, tlm_token="tlm-acme")).json()
        assert body["secrets_set"] == ["api_key", "tlm_token"]

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"name": None}, "name"),
            ({"slug": None}, "slug"),
            ({"slug": "Not A Slug"}, "slug"),
            ({"enabled": None}, "enabled"),
            ({"retention_days": None}, "retention_days"),
            ({"retention_days": 0}, "retention_days"),
            ({"timezone": "Nowhere/Town"}, "timezone"),
            ({"api_key": "pk_mine"}, "api_key"),
        ],
    )
    async def test_invalid(self, api, db, fields, field):
        acme = await api.create(slug="acme")
        refused(await api.update(acme["id"], 422, **fields), 422, field)
        row = await stored_row(db, "acme")
        assert (row["name"], row["retention_days"], row["timezone"]) == ("Acme", 7, None)

    async def test_unknown_id(self, api):
        refused(await api.update(999, 404, name="Nobody"), 404, "id")


class TestParsingOptions:
    """Day-first dates and decimal commas, for one partner's sender only."""

    @staticmethod
    def values(moment: datetime) -> dict[str, str]:
        return {
            "datetime_conversion": moment.strftime("%d/%m/%Y %H:%M:%S"),
            "usd_sale_amount": "1.234,56",
            "usd_payout": "12,34",
            # The other amounts as such a sender writes them too ("120.50" would be ambiguous).
            **dict.fromkeys(("sale_amount_local", "myr_sale_amount"), "5.520,5"),
            **dict.fromkeys(("payout_local", "myr_payout"), "276"),
        }

    async def test_set_at_creation_and_applied_to_that_partner_only(self, api, client, db):
        body = await api.create(
            slug="euro", ts_token="tok-euro", day_first_dates=True, decimal_comma=True
        )
        assert (body["day_first_dates"], body["decimal_comma"]) == (True, True)
        await api.create(slug="plain", ts_token="tok-plain")
        # The third day of the month: read month first, it would be another date.
        local = datetime.now(ZoneInfo("Asia/Kuala_Lumpur")).replace(microsecond=0)
        moment = (local - timedelta(days=40)).replace(day=3, hour=9, minute=5, second=7)
        sent = await send(client, "EU-1", ts_token="tok-euro", **self.values(moment))
        assert sent.status_code == 200, sent.text
        row = await db.fetchrow("SELECT * FROM conversion WHERE id = $1", sent.json()["id"])
        assert row["datetime_conversion"] == moment
        assert row["usd_sale_amount"] == Decimal("1234.56")
        assert row["usd_payout"] == Decimal("12.34")

        plain = await send(client, "PL-1", ts_token="tok-plain", **self.values(moment))
        assert plain.status_code == 422
        assert [e["field"] for e in plain.json()["errors"]] == [
            "sale_amount_local",
            "myr_sale_amount",
            "usd_sale_amount",
            "usd_payout",
            "datetime_conversion",
        ]
        assert row["myr_sale_amount"] == Decimal("5520.5")
        assert row["payout_local"] == Decimal("276")

    async def test_changed_by_update_at_once(self, api, client, db):
        euro = await api.create(slug="euro", ts_token="tok-euro")
        moment = datetime.now(ZoneInfo("Asia/Kuala_Lumpur")).replace(microsecond=0, day=1)
        assert (
            await send(client, "EU-2", ts_token="tok-euro", **self.values(moment))
        ).status_code == 422
        body = (await api.update(euro["id"], decimal_comma=True, day_first_dates=True)).json()
        assert (body["day_first_dates"], body["decimal_comma"]) == (True, True)
        assert (
            await send(client, "EU-3", ts_token="tok-euro", **self.values(moment))
        ).status_code == 200
        row = await stored_row(db, "euro")
        assert (row["day_first_dates"], row["decimal_comma"]) == (True, True)
        body = (await api.update(euro["id"], decimal_comma=False)).json()
        assert (body["day_first_dates"], body["decimal_comma"]) == (True, False)
        refused_again = await send(client, "EU-4", ts_token="tok-euro", **self.values(moment))
        assert [e["field"] for e in refused_again.json()["errors"]] == [
            "sale_amount_local",
            "myr_sale_amount",
            "usd_sale_amount",
            "usd_payout",
        ]

    @pytest.mark.parametrize("field", ["day_first_dates", "decimal_comma"])
    async def test_null_or_not_a_boolean_is_refused(self, api, field):
        acme = await api.create(slug="acme")
        refused(await api.update(acme["id"], 422, **{field: None}), 422, field)
        refused(await api.update(acme["id"], 422, **{field: "sometimes"}), 422, field)


class TestDefaultPartner:
    async def default_id(self, api: Api) -> int:
        tenants = (await api.call("GET", "/api/tenants")).json()
        tenant_id: int = next(t["id"] for t in tenants if t["is_default"])
        return tenant_id

    async def test_cannot_be_disabled(self, api, client, db):
        default_id = await self.default_id(api)
        response = await api.call("POST", f"/api/tenants/{default_id}/disable", 409)
        assert "default" in refused(response, 409, "enabled")
        refused(await api.update(default_id, 409, enabled=False), 409, "enabled")
        assert await db.fetchval("SELECT enabled FROM tenant WHERE is_default") is True
        assert await landed_in(client, "D-1") == "default"

    async def test_slug_cannot_change(self, api, db):
        default_id = await self.default_id(api)
        response = await api.update(default_id, 409, slug="catch-all")
        assert "default" in refused(response, 409, "slug")
        assert await db.fetchval("SELECT slug FROM tenant WHERE is_default") == "default"

    async def test_other_settings_can_change(self, api):
        default_id = await self.default_id(api)
        body = (await api.update(default_id, name="Unassigned", slug="default")).json()
        assert (body["name"], body["slug"], body["enabled"]) == ("Unassigned", "default", True)


class TestDisable:
    async def test_disable_and_enable(self, api, client, db):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        key = bearer(acme["secrets"]["api_key"])

        body = (await api.call("POST", f"/api/tenants/{acme['id']}/disable")).json()
        assert body["enabled"] is False
        refused_postback = await send(client, "X-1", ts_token="tok-acme")
        assert "disabled" in refused(refused_postback, 422, "ts_token")
        assert await db.fetchval("SELECT count(*) FROM conversion") == 0
        assert await db.fetchval("SELECT count(*) FROM rejection") == 1  # kept, not lost
        refused(await client.get("/postback/conversions", headers=key), 403, "authorization")

        body = (await api.call("POST", f"/api/tenants/{acme['id']}/enable")).json()
        assert body["enabled"] is True
        assert await landed_in(client, "X-2", ts_token="tok-acme") == "acme"
        assert (await client.get("/postback/conversions", headers=key)).status_code == 200

    async def test_unknown_id(self, api):
        refused(await api.call("POST", "/api/tenants/999/disable", 404), 404, "id")


class TestRotate:
    async def test_api_key(self, api, client, db):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        old = acme["secrets"]["api_key"]
        body = (await api.rotate(acme["id"], kind="api_key")).json()
        new = body["secret"]
        assert body["kind"] == "api_key"
        assert new != old
        assert len(new) >= 24
        assert body["tenant"]["slug"] == "acme"
        assert (await stored_row(db, "acme"))["api_key_hash"] == sha256(new)

        response = await client.get("/postback/conversions", headers=bearer(old))
        refused(response, 401, "authorization")
        assert (await client.get("/postback/conversions", headers=bearer(new))).status_code == 200
        # Shown once: reading the partner does not show it.
        assert new not in (await api.call("GET", f"/api/tenants/{acme['id']}")).text
        # The postback token did not change.
        assert await landed_in(client, "K-1", ts_token="tok-acme") == "acme"

    async def test_ts_token_generated(self, api, client, db):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        body = (await api.rotate(acme["id"], kind="ts_token")).json()
        new = body["secret"]
        assert new != "tok-acme"
        assert len(new) >= 24
        assert f"ts_token={new}" in body["postback_url"]
        assert (await stored_row(db, "acme"))["ts_token_hash"] == sha256(new)
        assert await landed_in(client, "T-new", ts_token=new) == "acme"
        # The old token no longer finds the partner: such postbacks go to the default one.
        assert await landed_in(client, "T-old", ts_token="tok-acme") == "default"

    async def test_token_with_a_given_value(self, api, client):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        body = (await api.rotate(acme["id"], kind="tlm_token", value="tlm-chosen")).json()
        assert body["secret"] == "tlm-chosen"
        assert body["tenant"]["secrets_set"] == ["api_key", "ts_token", "tlm_token"]
        assert "tlm_token=tlm-chosen" in body["postback_url"]
        assert await landed_in(client, "L-1", tlm_token="tlm-chosen") == "acme"

    async def test_api_key_cannot_be_chosen(self, api, db):
        acme = await api.create(slug="acme")
        response = await api.rotate(acme["id"], 422, kind="api_key", value="pk_easy")
        refused(response, 422, "value")
        row = await stored_row(db, "acme")
        assert row["api_key_hash"] == sha256(acme["secrets"]["api_key"])

    @pytest.mark.parametrize(
        ("body", "field"), [({"kind": "password"}, "kind"), ({}, "kind"), ({"kind": None}, "kind")]
    )
    async def test_invalid(self, api, body, field):
        acme = await api.create(slug="acme")
        refused(await api.rotate(acme["id"], 422, **body), 422, field)

    async def test_unknown_id(self, api):
        refused(await api.rotate(999, 404, kind="api_key"), 404, "id")


def filled(url: str, values: dict[str, str]) -> tuple[str, dict[str, str]]:
    """What Involve Asia requests: the URL's path and query with every macro filled in."""
    parts = urlsplit(url)
    query = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        macro = re.fullmatch(r"\{(\w+)\}", value)
        query[name] = values.get(macro.group(1), "") if macro else value
    return parts.path, query


class TestPostbackUrl:
    async def test_has_every_macro_and_a_placeholder(self, api):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        body = (await api.call("GET", f"/api/tenants/{acme['id']}/postback-url")).json()
        url = body["url"]
        assert url.startswith("http://testserver/postback/?conversion_id={conversion_id}&")
        query = dict(parse_qsl(urlsplit(url).query))
        assert {name: query[name] for name in MACROS} == {name: f"{{{name}}}" for name in MACROS}
        assert query["ts_token"] == "<YOUR_TS_TOKEN>"
        assert set(query) == {*MACROS, "ts_token"}
        assert sorted(body["macros"]) == MACROS
        assert (body["token_field"], body["token_included"]) == ("ts_token", False)
        assert "tok-acme" not in url

    async def test_create_answer_has_the_real_token(self, api, client, db):
        acme = await api.create(slug="acme")
        token = acme["secrets"]["ts_token"]
        path, query = filled(acme["postback_url"], postback("URL-1"))
        assert query["ts_token"] == token
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        assert response.json()["tenant"] == "acme"
        row = await db.fetchrow("SELECT * FROM conversion WHERE id = $1", response.json()["id"])
        assert (row["conversion_id"], row["offer_name"]) == ("URL-1", "Shopee MY")

    async def test_uses_the_token_the_partner_has(self, api):
        acme = await api.create(slug="acme", tlm_token="tlm-acme")
        body = (await api.call("GET", f"/api/tenants/{acme['id']}/postback-url")).json()
        assert body["url"].endswith("&tlm_token=<YOUR_TLM_TOKEN>")
        assert acme["postback_url"].endswith("&tlm_token=tlm-acme")

    async def test_the_default_partner_needs_no_token(self, api, client):
        tenants = (await api.call("GET", "/api/tenants")).json()
        body = (await api.call("GET", f"/api/tenants/{tenants[0]['id']}/postback-url")).json()
        assert body["token_field"] is None
        path, query = filled(body["url"], postback("URL-D"))
        assert set(query) == set(MACROS)
        response = await client.get(path, params=query)
        assert response.json()["tenant"] == "default"

    async def test_a_token_with_url_characters_is_encoded(self, api, client):
        acme = await api.create(slug="acme", ts_token="a&b=c d")
        path, query = filled(acme["postback_url"], postback("URL-2"))
        assert query["ts_token"] == "a&b=c d"
        assert (await client.get(path, params=query)).json()["tenant"] == "acme"


class TestAdminOnly:
    def tenant_routes(self, app: PostbackApp) -> list[tuple[str, str]]:
        found = [
            (method, str(route.path))
            for route in iter_route_contexts(app.api.routes)
            if str(route.path).startswith("/api/tenants")
            for method in route.methods or ()
        ]
        assert len(found) >= 8
        return found

    async def test_a_partner_key_gets_403_everywhere(self, app, api, client, db):
        acme = await api.create(slug="acme", ts_token="tok-acme")
        key = bearer(acme["secrets"]["api_key"])
        # A partner reads its own forwards and delivery log (tests/forwarding, test_security).
        own = ("/forwards", "/deliveries")
        for method, path in self.tenant_routes(app):
            if any(part in path for part in own):
                continue
            url = path.replace("{tenant_id}", str(acme["id"]))
            response = await client.request(method, url, headers=key, json={"kind": "api_key"})
            assert "admin" in refused(response, 403, "authorization"), (method, path)
        row = await stored_row(db, "acme")
        assert row["api_key_hash"] == sha256(acme["secrets"]["api_key"])
        assert row["enabled"] is True

    async def test_no_token_gets_401_everywhere(self, app, client, db):
        for method, path in self.tenant_routes(app):
            response = await client.request(method, path.replace("{tenant_id}", "1"))
            refused(response, 401, "authorization")


@pytest.fixture(scope="module")
async def cached_app(database_url: str, tmp_path_factory) -> AsyncIterator[PostbackApp]:
    """A second instance whose tenant cache never expires by itself, with a public URL."""
    settings = make_settings(
        database_url,
        Path(tmp_path_factory.mktemp("cached")),
        POSTBACK_TENANT_CACHE_SECONDS=3600,
        POSTBACK_PUBLIC_URL="https://postback.example.com/",
    )
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
        yield application


@pytest.fixture
async def cached(cached_app: PostbackApp, db: asyncpg.Connection) -> AsyncIterator[Api]:
    await cached_app.state.directory.reload()  # the tables were just emptied
    transport = httpx.ASGITransport(app=cached_app, client=("203.0.113.8", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as http:
        yield Api(http)


class TestIngestionSeesChangesAtOnce:
    """On an instance that would otherwise keep its token cache for an hour."""

    async def test_created(self, cached):
        await cached.create(slug="acme", ts_token="tok-acme")
        assert await landed_in(cached.client, "C-1", ts_token="tok-acme") == "acme"

    async def test_rotated(self, cached):
        acme = await cached.create(slug="acme", ts_token="tok-acme")
        assert await landed_in(cached.client, "C-1", ts_token="tok-acme") == "acme"
        await cached.rotate(acme["id"], kind="ts_token", value="tok-acme-2")
        assert await landed_in(cached.client, "C-2", ts_token="tok-acme") == "default"
        assert await landed_in(cached.client, "C-3", ts_token="tok-acme-2") == "acme"

    async def test_disabled_and_enabled(self, cached):
        acme = await cached.create(slug="acme", ts_token="tok-acme")
        assert await landed_in(cached.client, "C-1", ts_token="tok-acme") == "acme"
        await cached.call("POST", f"/api/tenants/{acme['id']}/disable")
        refused(await send(cached.client, "C-2", ts_token="tok-acme"), 422, "ts_token")
        await cached.call("POST", f"/api/tenants/{acme['id']}/enable")
        assert await landed_in(cached.client, "C-3", ts_token="tok-acme") == "acme"

    async def test_token_removed(self, cached):
        acme = await cached.create(slug="acme", ts_token="tok-acme", ts_param="param-acme")
        assert await landed_in(cached.client, "C-1", ts_param="param-acme") == "acme"
        await cached.update(acme["id"], ts_param=None)
        assert await landed_in(cached.client, "C-2", ts_param="param-acme") == "default"

    async def test_postback_url_uses_the_public_url(self, cached):
        acme = await cached.create(slug="acme", ts_token="tok-acme")
        assert acme["postback_url"].startswith("https://postback.example.com/postback/?")
        body = (await cached.call("GET", f"/api/tenants/{acme['id']}/postback-url")).json()
        assert body["url"].startswith("https://postback.example.com/postback/?conversion_id=")
