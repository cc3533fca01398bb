"""Changes made with `postback tenants …` are audited as the command line's, under the OS
user who ran it, on this machine; the secrets it prints appear nowhere in the log."""

from __future__ import annotations

import json
import os
import pwd
import re
import socket

from tests.audit.helpers import entries, now, whole_log


def os_user() -> str:
    """Who the command runs as: the login name the environment gives, else the account's."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if os.environ.get(name):
            return os.environ[name]
    return pwd.getpwuid(os.getuid()).pw_name


def printed(stdout: str, kind: str) -> str:
    [value] = re.findall(rf"^\s*{kind}:\s*(\S+)\s*$", stdout, re.MULTILINE)
    return value


async def test_commands_are_audited_as_the_os_user(cli, db):
    started = await now(db)
    created = await cli(
        "tenants", "create", "--name", "Lazada Partner", "--slug", "lazada", "--tlm-token", "tlm-9"
    )
    assert created.code == 0, created.stderr
    updated = await cli("tenants", "update", "lazada", "--retention-days", "30")
    assert updated.code == 0, updated.stderr
    rotated = await cli("tenants", "rotate", "lazada", "api_key")
    assert rotated.code == 0, rotated.stderr
    disabled = await cli("tenants", "disable", "lazada")
    assert disabled.code == 0, disabled.stderr
    ended = await now(db)

    log = await entries(db)
    assert [e["action"] for e in log] == [
        "tenant.create",
        "tenant.update",
        "tenant.rotate_secret",
        "tenant.disable",
    ]
    tenant_id = await db.fetchval("SELECT id FROM tenant WHERE slug = 'lazada'")
    for entry in log:
        assert (entry["actor_kind"], entry["actor_label"]) == ("cli", os_user())
        assert entry["actor_user_id"] is None
        assert entry["client_ip"] is None
        assert entry["user_agent"] == f"postback CLI on {socket.gethostname()}"
        assert (entry["target_kind"], entry["tenant_id"]) == ("tenant", tenant_id)
        assert entry["target_name"] == "Lazada Partner"
    assert log[1]["before"] == {"retention_days": 7}
    assert log[1]["after"] == {"retention_days": 30}
    assert log[3]["after"] == {"enabled": False}

    text = await whole_log(db)
    for secret in (
        printed(created.stdout, "api_key"),
        printed(created.stdout, "tlm_token"),
        printed(rotated.stdout, "api_key"),
    ):
        assert secret not in text
    found = await db.fetch("SELECT created_at FROM audit_entry")
    assert all(started <= row["created_at"] <= ended for row in found)


async def test_a_refused_command_leaves_no_entry(cli, db):
    result = await cli("tenants", "update", "nobody", "--name", "X")
    assert result.code != 0
    assert await entries(db) == []


async def test_audit_list(cli, db):
    for args in (
        ("tenants", "create", "--name", "Acme", "--slug", "acme"),
        ("tenants", "update", "acme", "--retention-days", "30"),
        ("tenants", "create", "--name", "Other", "--slug", "other"),
    ):
        assert (await cli(*args)).code == 0
    result = await cli("audit", "list", "--tenant", "acme", "--json")
    assert result.code == 0, result.stderr
    ids = [
        row["id"]
        for row in await db.fetch(
            "SELECT a.id FROM audit_entry a JOIN tenant t ON t.id = a.tenant_id"
            " WHERE t.slug = 'acme' ORDER BY a.id DESC"
        )
    ]
    listed = json.loads(result.stdout)
    assert [item["id"] for item in listed["items"]] == ids
    assert [item["action"] for item in listed["items"]] == ["tenant.update", "tenant.create"]

    text = await cli("audit", "list", "--action", "tenant.update")
    assert text.code == 0, text.stderr
    assert f"{os_user()} [cli]  tenant.update  tenant" in text.stdout
    assert "retention_days: 7 -> 30" in text.stdout
    assert "tenant.create" not in text.stdout

    unknown = await cli("audit", "list", "--tenant", "nobody")
    assert unknown.code != 0
    assert "error: tenant:" in unknown.stderr
