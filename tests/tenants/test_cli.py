"""`postback tenants create|list|update|rotate|disable|enable`, run in their own process against
the test database."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from tests.factories import create_tenant

CREATE = ("tenants", "create", "--name", "Shopee Partner", "--slug", "shopee-partner")


def printed_secret(stdout: str, kind: str) -> str:
    values = re.findall(rf"^\s*{kind}:\s*(\S+)\s*$", stdout, re.MULTILINE)
    assert len(values) == 1, stdout
    return values[0]


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
async def acme(app, db):
    return await create_tenant(app, "acme", name="Acme", ts_token="tok-acme")


async def landed_in(client, conversion_id: str, **tokens: str) -> str:
    response = await client.get("/postback/", params={"conversion_id": conversion_id, **tokens})
    assert response.status_code == 200, response.text
    slug: str = response.json()["tenant"]
    return slug


def failed(result, field: str) -> None:
    assert result.code != 0
    assert f"error: {field}:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


class TestList:
    async def test_table(self, cli, acme, client):
        await landed_in(client, "L-1", ts_token="tok-acme")
        result = await cli("tenants", "list")
        assert result.code == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].split()[:4] == ["ID", "SLUG", "ENABLED", "TODAY"]
        rows = {line.split()[1]: line.split() for line in lines[1:]}
        assert set(rows) == {"default", "acme"}
        assert rows["acme"][2] == "yes"
        assert "tok-acme" not in result.stdout
        assert acme.secrets["api_key"] not in result.stdout

    async def test_json(self, cli, acme):
        result = await cli("tenants", "list", "--json")
        assert result.code == 0, result.stderr
        tenants = json.loads(result.stdout)
        assert [t["slug"] for t in tenants] == ["default", "acme"]
        assert tenants[1]["secrets_set"] == ["api_key", "ts_token"]
        assert tenants[1]["reporting_timezone"] == "Asia/Kuala_Lumpur"
        assert "hash" not in result.stdout


class TestUpdate:
    async def test_changes_only_the_options_given(self, cli, acme, db):
        result = await cli(
            "tenants",
            "update",
            "acme",
            "--name",
            "Acme Two",
            "--retention-days",
            "30",
            "--rate-limit",
            "120",
            "--timezone",
            "Asia/Jakarta",
            "--no-dedup",
        )
        assert result.code == 0, result.stderr
        assert "acme" in result.stdout
        row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'acme'")
        assert (row["name"], row["retention_days"], row["rate_limit_per_minute"]) == (
            "Acme Two",
            30,
            120,
        )
        assert (row["timezone"], row["dedup_enabled"], row["enabled"]) == (
            "Asia/Jakarta",
            False,
            True,
        )
        assert row["ts_token_hash"] == sha256("tok-acme")

    async def test_clears_the_limit_and_timezone(self, cli, app, db):
        await create_tenant(app, "acme", rate_limit_per_minute=60, timezone="Asia/Jakarta")
        result = await cli("tenants", "update", "acme", "--rate-limit", "0", "--timezone", "")
        assert result.code == 0, result.stderr
        row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'acme'")
        assert (row["rate_limit_per_minute"], row["timezone"]) == (None, None)

    async def test_new_slug_and_token(self, cli, acme, client, app):
        result = await cli(
            "tenants", "update", "acme", "--new-slug", "acme-my", "--ts-param", "param-acme"
        )
        assert result.code == 0, result.stderr
        await app.state.directory.reload()
        assert await landed_in(client, "U-1", ts_param="param-acme") == "acme-my"

    @pytest.mark.parametrize(
        ("args", "field"),
        [
            (("acme", "--timezone", "Mars/Base"), "timezone"),
            (("nobody", "--name", "X"), "slug"),
            (("default", "--new-slug", "catch-all"), "slug"),
            (("acme", "--ts-token", ""), "ts_token"),
            (("acme", "--name", "  "), "name"),
        ],
    )
    async def test_refused(self, cli, acme, db, args, field):
        failed(await cli("tenants", "update", *args), field)
        row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'acme'")
        assert (row["name"], row["timezone"]) == ("Acme", None)

    async def test_slug_taken(self, cli, acme, app):
        await create_tenant(app, "other")
        result = await cli("tenants", "update", "other", "--new-slug", "acme")
        failed(result, "slug")
        assert "already used" in result.stderr

    async def test_bad_new_slug(self, cli, acme):
        result = await cli("tenants", "update", "acme", "--new-slug", "Not A Slug")
        assert result.code != 0
        assert "slug" in result.stderr
        assert "Traceback" not in result.stderr


class TestRotate:
    async def test_api_key(self, cli, acme, client, db):
        result = await cli("tenants", "rotate", "acme", "api_key")
        assert result.code == 0, result.stderr
        new = printed_secret(result.stdout, "api_key")
        assert new != acme.secrets["api_key"]
        assert result.stdout.count(new) == 1
        assert await db.fetchval("SELECT api_key_hash FROM tenant WHERE slug = 'acme'") == sha256(
            new
        )
        old = await client.get(
            "/postback/conversions", headers={"Authorization": f"Bearer {acme.secrets['api_key']}"}
        )
        assert old.status_code == 401
        fresh = await client.get(
            "/postback/conversions", headers={"Authorization": f"Bearer {new}"}
        )
        assert fresh.status_code == 200

    async def test_token(self, cli, acme, client, app):
        result = await cli("tenants", "rotate", "acme", "ts_token")
        assert result.code == 0, result.stderr
        new = printed_secret(result.stdout, "ts_token")
        await app.state.directory.reload()
        assert await landed_in(client, "R-1", ts_token=new) == "acme"
        assert await landed_in(client, "R-2", ts_token="tok-acme") == "default"

    async def test_token_with_a_value(self, cli, acme, client, app):
        result = await cli("tenants", "rotate", "acme", "tlm_token", "--value", "tlm-chosen")
        assert result.code == 0, result.stderr
        assert printed_secret(result.stdout, "tlm_token") == "tlm-chosen"
        await app.state.directory.reload()
        assert await landed_in(client, "R-3", tlm_token="tlm-chosen") == "acme"

    async def test_api_key_cannot_be_chosen(self, cli, acme):
        failed(await cli("tenants", "rotate", "acme", "api_key", "--value", "pk_x"), "value")

    async def test_unknown_kind(self, cli, acme):
        result = await cli("tenants", "rotate", "acme", "password")
        assert result.code != 0
        assert "Traceback" not in result.stderr


class TestDisable:
    async def test_disable_and_enable(self, cli, acme, client, app, db):
        result = await cli("tenants", "disable", "acme")
        assert result.code == 0, result.stderr
        assert "disabled" in result.stdout
        assert await db.fetchval("SELECT enabled FROM tenant WHERE slug = 'acme'") is False
        await app.state.directory.reload()
        refused = await client.get(
            "/postback/", params={"conversion_id": "D-1", "ts_token": "tok-acme"}
        )
        assert refused.status_code == 422

        result = await cli("tenants", "enable", "acme")
        assert result.code == 0, result.stderr
        assert await db.fetchval("SELECT enabled FROM tenant WHERE slug = 'acme'") is True
        await app.state.directory.reload()
        assert await landed_in(client, "D-2", ts_token="tok-acme") == "acme"

    async def test_the_default_partner_stays_enabled(self, cli, db):
        result = await cli("tenants", "disable", "default")
        failed(result, "enabled")
        assert "default" in result.stderr
        assert await db.fetchval("SELECT enabled FROM tenant WHERE is_default") is True

    async def test_unknown_partner(self, cli, db):
        failed(await cli("tenants", "disable", "nobody"), "slug")


async def test_help_lists_every_command(cli):
    result = await cli("tenants", "--help")
    assert result.code == 0
    for command in ("list", "create", "update", "rotate", "disable", "enable"):
        assert command in result.stdout


class TestTenantsCreate:
    async def test_prints_the_secrets_once(self, cli, db):
        result = await cli(*CREATE, "--ts-token", "abc123")
        assert result.code == 0, result.stderr
        assert "shopee-partner" in result.stdout
        assert printed_secret(result.stdout, "ts_token") == "abc123"
        api_key = printed_secret(result.stdout, "api_key")
        assert len(api_key) >= 24
        assert result.stdout.count("abc123") == 1
        assert result.stdout.count(api_key) == 1

    async def test_the_partner_is_stored_with_hashed_secrets(self, cli, db):
        result = await cli(*CREATE, "--ts-token", "abc123")
        assert result.code == 0, result.stderr
        api_key = printed_secret(result.stdout, "api_key")
        row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'shopee-partner'")
        assert row is not None
        assert row["name"] == "Shopee Partner"
        assert row["enabled"] is True
        assert row["is_default"] is False
        assert row["ts_token_hash"]
        assert row["api_key_hash"]
        stored = repr(dict(row))
        assert "abc123" not in stored
        assert api_key not in stored

    async def test_the_partner_can_be_used_at_once(self, cli, db, app, client):
        result = await cli(*CREATE, "--ts-token", "abc123")
        assert result.code == 0, result.stderr
        api_key = printed_secret(result.stdout, "api_key")
        await app.state.directory.reload()

        received = await client.get(
            "/postback/", params={"conversion_id": "CLI-1", "ts_token": "abc123"}
        )
        assert received.status_code == 200, received.text
        assert received.json()["tenant"] == "shopee-partner"

        listed = await client.get(
            "/postback/conversions", headers={"Authorization": f"Bearer {api_key}"}
        )
        assert listed.status_code == 200
        assert [i["conversion_id"] for i in listed.json()["items"]] == ["CLI-1"]

    async def test_same_slug_twice(self, cli, db):
        first = await cli(*CREATE, "--ts-token", "abc123")
        assert first.code == 0, first.stderr
        again = await cli(*CREATE, "--ts-token", "another-token")
        assert again.code != 0
        assert "slug" in again.stderr
        assert "shopee-partner" in again.stderr
        assert "Traceback" not in again.stderr
        assert "api_key" not in again.stdout
        count = await db.fetchval("SELECT count(*) FROM tenant WHERE slug = 'shopee-partner'")
        assert count == 1

    @pytest.mark.parametrize("slug", ["Shopee Partner", "-shopee", "shopee_my", "x" * 64, ""])
    async def test_invalid_slug(self, cli, db, slug):
        result = await cli("tenants", "create", "--name", "Shopee Partner", "--slug", slug)
        assert result.code != 0
        assert "slug" in result.stderr
        assert "Traceback" not in result.stderr
        assert await db.fetchval("SELECT count(*) FROM tenant WHERE NOT is_default") == 0

    async def test_generates_a_token_when_none_is_given(self, cli, db):
        result = await cli(*CREATE)
        assert result.code == 0, result.stderr
        token = printed_secret(result.stdout, "ts_token")
        assert len(token) >= 24
        row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'shopee-partner'")
        assert token not in repr(dict(row))


class TestParsingOptions:
    async def test_set_at_creation(self, cli, db, app, client):
        result = await cli(*CREATE, "--ts-token", "tok-eu", "--day-first", "--decimal-comma")
        assert result.code == 0, result.stderr
        row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'shopee-partner'")
        assert (row["day_first_dates"], row["decimal_comma"]) == (True, True)
        await app.state.directory.reload()
        sent = await client.get(
            "/postback/",
            params={"conversion_id": "EU-1", "ts_token": "tok-eu", "usd_payout": "1.234,5"},
        )
        assert sent.status_code == 200, sent.text
        stored = await db.fetchval(
            "SELECT usd_payout FROM conversion WHERE id = $1", sent.json()["id"]
        )
        assert str(stored) == "1234.500000"

    async def test_off_by_default_and_changed_by_update(self, cli, acme, db):
        row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'acme'")
        assert (row["day_first_dates"], row["decimal_comma"]) == (False, False)
        result = await cli("tenants", "update", "acme", "--decimal-comma")
        assert result.code == 0, result.stderr
        assert "parsing: decimal comma" in result.stdout
        result = await cli("tenants", "update", "acme", "--day-first", "--no-decimal-comma")
        assert result.code == 0, result.stderr
        assert "parsing: day-first dates" in result.stdout
        row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'acme'")
        assert (row["day_first_dates"], row["decimal_comma"]) == (True, False)
        result = await cli("tenants", "update", "acme", "--name", "Acme 2")
        row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'acme'")
        assert (row["day_first_dates"], row["decimal_comma"]) == (True, False)
