"""The `postback` command line, run for real in its own process against the test database."""

from __future__ import annotations

import re

import pytest

CREATE = ("tenants", "create", "--name", "Shopee Partner", "--slug", "shopee-partner")


def printed_secret(stdout: str, kind: str) -> str:
    values = re.findall(rf"^\s*{kind}:\s*(\S+)\s*$", stdout, re.MULTILINE)
    assert len(values) == 1, stdout
    return values[0]


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


class TestMigrate:
    async def test_succeeds_on_an_up_to_date_database(self, cli, db):
        result = await cli("migrate")
        assert result.code == 0, result.stderr
        assert "up to date" in result.stdout
        assert await db.fetchval("SELECT count(*) FROM alembic_version") == 1
        # The schema is still there and usable.
        assert await db.fetchval("SELECT count(*) FROM tenant WHERE is_default") == 1

    async def test_help(self, cli):
        result = await cli("--help")
        assert result.code == 0
        for command in ("serve", "migrate", "tenants"):
            assert command in result.stdout
