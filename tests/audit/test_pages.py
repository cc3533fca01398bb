"""Changes made in the admin pages are audited as the admin token's, with the browser's
address and user agent; /admin/audit lists them with their fields before and after, in
English and Chinese, with the API's filters."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

from postback.audit.labels import LABELS
from postback.web.labels import Translator
from tests.admin.conftest import admin, csrf_of, fresh_throttle  # noqa: F401 (fixtures)
from tests.audit.helpers import AGENT, CLIENT_IP, entries, whole_log
from tests.fixtures import ADMIN_TOKEN

BROWSER = {"User-Agent": AGENT}


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, (response.status_code, text_of(response.text)[:1200])
    return response.headers["location"]


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, Any], page: str | None = None
) -> httpx.Response:
    data = {**data, "csrf_token": await csrf_of(client, page or path)}
    return await client.post(path, data=data, headers=BROWSER)


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def test_changes_in_the_pages_are_audited(admin, db, receiver):  # noqa: F811
    client = admin
    created = await post_form(
        client,
        "/admin/partners/new",
        {"name": "Shopee MY", "slug": "shopee-my", "retention_days": "7", "dedup_enabled": "on"},
    )
    partner = location(created)
    tenant_id = int(partner.rsplit("/", 1)[1])
    shown = (await client.get(partner)).text  # the secrets, shown once
    secrets = re.findall(r"(pk_[A-Za-z0-9_-]{20,}|ts_[A-Za-z0-9_-]{20,})", shown)
    assert secrets
    location(
        await post_form(
            client,
            partner,
            {
                "name": "Shopee Malaysia",
                "slug": "shopee-my",
                "retention_days": "14",
                "rate_limit_per_minute": "",
                "timezone": "",
                "dedup_enabled": "on",
            },
        )
    )
    location(await post_form(client, f"{partner}/disable", {}, partner))
    location(await post_form(client, f"{partner}/rotate", {"kind": "ts_token"}, partner))
    rotated = await client.get(partner)
    secrets += re.findall(r"ts_[A-Za-z0-9_-]{20,}", rotated.text)
    location(await post_form(client, f"{partner}/enable", {}, partner))

    forwards = f"{partner}/forwards"
    url = receiver.base + "/hook?key=hook-secret-7&c={conversion_id}"
    location(
        await post_form(
            client,
            forwards,
            {
                "url": url,
                "method": "GET",
                "events": ["created", "status_changed"],
                "enabled": "on",
                "statuses": "",
                "offers": "",
                "payout_percent": "",
            },
        )
    )
    forward_id = await db.fetchval("SELECT id FROM forward WHERE tenant_id = $1", tenant_id)
    location(await post_form(client, f"{forwards}/{forward_id}/pause", {}, forwards))
    location(await post_form(client, f"{forwards}/{forward_id}/delete", {}, forwards))

    refused = await client.get("/postback/", params={"conversion_id": "PG-1", "usd_payout": "x"})
    assert refused.status_code == 422
    rejection_id = await db.fetchval("SELECT id FROM rejection WHERE conversion_id = 'PG-1'")
    location(
        await post_form(
            client,
            f"/admin/rejections/{rejection_id}/replay",
            {"field.usd_payout": "1.00", "tenant": "shopee-my"},
            "/admin/rejections",
        )
    )

    log = await entries(db)
    assert [e["action"] for e in log] == [
        "tenant.create",
        "tenant.update",
        "tenant.disable",
        "tenant.rotate_secret",
        "tenant.enable",
        "forward.create",
        "forward.update",
        "forward.delete",
        "rejection.replay",
    ]
    for entry in log:
        assert (entry["actor_kind"], entry["actor_label"]) == ("admin_token", "admin token")
        assert (entry["client_ip"], entry["user_agent"]) == (CLIENT_IP, AGENT)
        assert entry["tenant_id"] == tenant_id
    assert log[1]["before"] == {"name": "Shopee MY", "retention_days": 7}
    assert log[1]["after"] == {"name": "Shopee Malaysia", "retention_days": 14}
    assert log[6]["after"] == {"enabled": False}
    assert log[8]["after"]["corrected"] == {"usd_payout": "1.00"}
    assert log[8]["after"]["tenant"] == "shopee-my"
    text = await whole_log(db)
    assert ADMIN_TOKEN not in text
    assert "hook-secret-7" not in text
    for secret in secrets:
        assert secret not in text


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_the_page_in_both_languages(admin, db, language):  # noqa: F811
    client = admin
    t = Translator(language, LABELS)
    location(
        await post_form(
            client,
            "/admin/partners/new",
            {"name": "Acme", "slug": "acme", "retention_days": "7", "dedup_enabled": "on"},
        )
    )
    tenant_id = await db.fetchval("SELECT id FROM tenant WHERE slug = 'acme'")
    location(
        await post_form(
            client, f"/admin/partners/{tenant_id}/disable", {}, f"/admin/partners/{tenant_id}"
        )
    )
    page = await client.get("/admin/audit", params={"lang": language})
    assert page.status_code == 200
    text = text_of(page.text)
    for key in (
        "audit_log",
        "actor",
        "action",
        "target",
        "before",
        "after",
        "action.tenant.create",
        "action.tenant.disable",
        "actor_kind.admin_token",
    ):
        assert t(key) in text, key
    disabled = await db.fetchval("SELECT id FROM audit_entry WHERE action = 'tenant.disable'")
    row = re.search(rf'<tr id="entry-{disabled}".*?</table>', page.text, re.S)
    assert row is not None
    # enabled: yes -> no, the field's name and values in the page's language.
    cells = (
        rf'data-field="enabled">\s*<th scope="row">{t("field.enabled")} '
        r"<small><code>enabled</code></small></th>\s*"
        rf'<td class="before">{t("yes")}</td>\s*<td class="after">{t("no")}</td>'
    )
    assert re.search(cells, row.group(0))

    # A creation has no before: its table has no such column.
    created_id = await db.fetchval("SELECT id FROM audit_entry WHERE action = 'tenant.create'")
    created = re.search(rf'<tr id="entry-{created_id}".*?</table>', page.text, re.S)
    assert created is not None
    assert 'class="before"' not in created.group(0)
    assert t("before") not in created.group(0)
    assert created.group(0).count('class="after"') == 13

    filtered = await client.get("/admin/audit", params={"lang": language, "action": "tenant.dis"})
    ids = re.findall(r'<tr id="entry-(\d+)"', filtered.text)
    assert ids == [str(disabled)]
    refused = await client.get("/admin/audit", params={"lang": language, "since": "soon"})
    assert refused.status_code == 422
    assert "since" in text_of(refused.text)


async def test_older_pages(admin, db):  # noqa: F811
    for number in range(55):
        await db.execute(
            "INSERT INTO audit_entry (actor_kind, actor_label, action, target_kind, target_id)"
            " VALUES ('cli', 'ops', 'tenant.update', 'tenant', $1)",
            str(number),
        )
    first = await admin.get("/admin/audit")
    ids = [int(i) for i in re.findall(r'<tr id="entry-(\d+)"', first.text)]
    assert ids == list(range(55, 5, -1))
    older = re.search(r'href="([^"]+)" id="older"', first.text)
    assert older is not None
    second = await admin.get(html.unescape(older.group(1)))
    assert [int(i) for i in re.findall(r'<tr id="entry-(\d+)"', second.text)] == [5, 4, 3, 2, 1]
    assert 'id="older"' not in second.text


async def test_signed_out_goes_to_sign_in(client, db):
    response = await client.get("/admin/audit")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")
