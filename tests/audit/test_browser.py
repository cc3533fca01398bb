"""The audit page in a real headless Chromium, in English and in Chinese: a partner changed
through the API shows up with who, the action's name in the page's language and its fields
before and after; the action filter narrows the list; a name carrying markup stays text."""

from __future__ import annotations

import httpx
import pytest

from postback.audit.labels import LABELS
from postback.web.labels import Translator
from tests.admin.test_browser import context, page  # noqa: F401 (fixtures)
from tests.fixtures import ADMIN_TOKEN

EVIL = "<img src=x onerror=window.pwned=1>"


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_audit_in_a_browser(context, page, live_server, screenshot_dir, db):  # noqa: F811
    language = context.language
    t = Translator(language, LABELS)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=live_server, headers=admin) as api:
        created = await api.post(
            "/api/tenants", json={"name": f"Acme {EVIL}", "slug": f"acme-{language}"}
        )
        assert created.status_code == 201, created.text
        tenant_id = created.json()["id"]
        changed = await api.patch(f"/api/tenants/{tenant_id}", json={"retention_days": 30})
        assert changed.status_code == 200, changed.text
    update_id = await db.fetchval(
        "SELECT id FROM audit_entry WHERE action = 'tenant.update' AND tenant_id = $1", tenant_id
    )

    await page.goto(live_server + "/admin/login?next=/admin/audit")
    await page.fill("#token", ADMIN_TOKEN)
    await page.click(f"button:has-text('{t('sign_in')}')")
    await page.wait_for_url(live_server + "/admin/audit")
    assert await page.inner_text("h1") == t("audit_log")
    row = page.locator(f"#entry-{update_id}")
    assert t("action.tenant.update") in await row.locator(".action").inner_text()
    assert "admin token" in await row.locator(".actor").inner_text()
    line = row.locator("tr[data-field='retention_days']")
    assert await line.locator(".before").inner_text() == "7"
    assert await line.locator(".after").inner_text() == "30"
    assert EVIL in await page.inner_text("table#audit")  # the markup, as text
    assert await page.evaluate("window.pwned === undefined")
    await page.screenshot(path=screenshot_dir / f"audit-{language}.png", full_page=True)

    await page.fill("#filter-action", "tenant.create")
    await page.click("#apply-filters")
    await page.wait_for_url("**action=tenant.create**")
    actions = await page.locator("table#audit > tbody > tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)"
    )
    assert actions
    assert set(actions) == {"tenant.create"}
