"""An alert on the dashboard in a real headless Chromium, in English and in Chinese: the
partner signs in with its API key and sees its own alert in plain words, not another
partner's."""

from __future__ import annotations

import pytest

from postback.dashboard.labels import LABELS
from postback.web.labels import Translator
from tests.anomalies.test_routes import add_alert
from tests.dashboard.test_browser import watch
from tests.factories import create_tenant
from tests.web.test_browser import foreign

LOCALES = {"en": "en-US", "zh": "zh-CN"}
MESSAGES = {
    "en": "Shopee MY has sent no postbacks for 3 hours (usually about 40 an hour at this time)",
    "zh": "Shopee MY 已 3 小时没有回传（平时这个时段每小时约 40 条）",
}


@pytest.fixture
async def context(browser, live_server, request):
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=LOCALES[request.param]
    )
    context.language = request.param
    yield context
    await context.close()


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_a_partner_sees_its_alert(context, live_server, screenshot_dir, app, db):
    language = context.language
    t = Translator(language, LABELS)
    shop = await create_tenant(app, "shopee-my", name="Shopee MY", timezone="Asia/Jakarta")
    other = await create_tenant(app, "lazada-sg", name="Lazada SG")
    await add_alert(db, shop.tenant.id)
    await db.execute(
        "INSERT INTO alert (tenant_id, kind, severity, started_at, last_seen_at, observed,"
        " message_en, message_zh) VALUES ($1, 'volume_drop', 'warning', now(), now(), 1,"
        " 'Lazada SG dropped', 'Lazada SG 骤降')",
        other.tenant.id,
    )
    page = watch(await context.new_page())
    await page.goto(live_server + "/dashboard")
    await page.fill("#api_key", shop.secrets["api_key"])
    await page.click("form[action='/dashboard/login'] button[type=submit]")
    await page.wait_for_selector("#table-alerts")
    assert await page.inner_text("#alerts h2") == t("alerts")
    rows = await page.locator("#table-alerts tbody tr").all_inner_texts()
    assert len(rows) == 1
    assert MESSAGES[language] in rows[0]
    assert t("critical") in rows[0]
    assert t("open") in rows[0]
    # Started 08:00 UTC: shown in the partner's reporting timezone, not in UTC.
    assert "2026-12-01 15:00" in rows[0]
    assert "Asia/Jakarta" in rows[0]
    assert "UTC" not in rows[0]
    assert "Lazada" not in await page.inner_text("body")
    await page.screenshot(path=screenshot_dir / f"dashboard-alerts-{language}.png")
    assert page.console_errors == []
    assert foreign(page.requests, live_server) == []
