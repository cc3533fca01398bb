"""`postback users create|list|disable|reset-password`, run in their own process against the
test database; what they print signs in for real."""

from __future__ import annotations

import json
import re

from tests.accounts.helpers import sign_in
from tests.factories import create_tenant, create_user


def printed_password(stdout: str) -> str:
    found = re.findall(r"password(?: for \S+)?:\s*(\S+)\s*$", stdout, re.MULTILINE)
    assert len(found) == 1, stdout
    return found[0]


class TestCreate:
    async def test_a_generated_password_printed_once(self, cli, client):
        result = await cli("users", "create", "ana@example.com", "--role", "analyst")
        assert result.code == 0, result.stderr
        assert "created user ana@example.com" in result.stdout
        password = printed_password(result.stdout)
        assert (await sign_in(client, "ana@example.com", password)).status_code == 303

    async def test_a_password_from_stdin_for_a_partner_user(self, cli, app, client, db):
        await create_tenant(app, "acme")
        result = await cli(
            "users", "create", "p@acme.test", "--role", "partner", "--partner", "acme",
            "--name", "Pat", "--password-stdin", stdin="a chosen password\n",
        )  # fmt: skip
        assert result.code == 0, result.stderr
        assert "password:" not in result.stdout
        row = await db.fetchrow("SELECT display_name, role FROM app_user")
        assert tuple(row) == ("Pat", "partner")
        assert (await sign_in(client, "p@acme.test", "a chosen password")).status_code == 303

    async def test_refusals_name_the_field(self, cli, db):
        short = await cli("users", "create", "a@x.test", "--role", "admin", "--password-stdin",
                          stdin="short\n")  # fmt: skip
        assert short.code == 1
        assert "error: password:" in short.stderr
        no_partner = await cli("users", "create", "a@x.test", "--role", "partner")
        assert no_partner.code == 1
        assert "error: partner:" in no_partner.stderr
        bad_role = await cli("users", "create", "a@x.test", "--role", "owner")
        assert bad_role.code != 0
        assert "Traceback" not in short.stderr + no_partner.stderr + bad_role.stderr
        assert await db.fetchval("SELECT count(*) FROM app_user") == 0


class TestListDisableReset:
    async def test_list_as_text_and_json(self, cli, app, db):
        await create_tenant(app, "acme")
        await create_user(app, "b@x.test", "partner", partner="acme", name="Bo")
        await create_user(app, "a@x.test", "admin", name="Al")
        text = await cli("users", "list")
        assert text.stdout.splitlines() == [
            "a@x.test (id 2, admin, active): Al",
            "b@x.test (id 1, partner of acme, active): Bo",
        ]
        as_json = json.loads((await cli("users", "list", "--json")).stdout)
        assert [(u["email"], u["role"], u["partner"]) for u in as_json] == [
            ("a@x.test", "admin", None),
            ("b@x.test", "partner", "acme"),
        ]

    async def test_disable_ends_sessions_and_sign_in(self, cli, app, client):
        await create_user(app, "a@x.test", "analyst")
        assert (await sign_in(client, "a@x.test")).status_code == 303
        result = await cli("users", "disable", "A@x.test")
        assert result.code == 0, result.stderr
        assert (await client.get("/postback/stats")).status_code == 401
        assert (await sign_in(client, "a@x.test")).status_code == 403
        unknown = await cli("users", "disable", "nobody@x.test")
        assert unknown.code == 1
        assert "error: email:" in unknown.stderr

    async def test_reset_password(self, cli, app, client):
        await create_user(app, "a@x.test", "analyst")
        assert (await sign_in(client, "a@x.test")).status_code == 303
        result = await cli("users", "reset-password", "a@x.test")
        assert result.code == 0, result.stderr
        assert "1 session(s) ended" in result.stdout
        assert (await client.get("/postback/stats")).status_code == 401
        password = printed_password(result.stdout)
        assert (await sign_in(client, "a@x.test", password)).status_code == 303
