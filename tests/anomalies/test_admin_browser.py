"""The admin's alert pages in a real headless Chromium, in English and in Chinese: alerts with
their times in each partner's reporting timezone, the filters, acknowledge and resolve; then an
alert channel added through the form and its test button showing what a real receiver on
loopback answered. Every request stays on the app's host and the console shows no error."""

from __future__ import annotations

import json

import pytest

from postback.anomalies.labels import LABELS
from postback.web.labels import Translator
from tests.admin.test_browser import LOCALES
from tests.admin.test_forwarding_browser import page  # noqa: F401 (a fixture)
from tests.anomalies.test_routes import add_alert
from tests.factories import create_tenant
from tests.fixtures import ADMIN_TOKEN
from tests.web.test_browser import foreign


@pytest.fixture
async def context(browser, live_server, request):
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=LOCALES[request.param]
    )
    context.language = request.param
    yield context
    await context.close()


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_alerts_and_channels_in_a_browser(
    context,
    page,  # noqa: F811
    live_server,
    receiver,
    screenshot_dir,
    app,
    db,
):
    language = context.language
    t = Translator(language, LABELS)
    # Two partners in two reporting timezones: the same UTC moment shows as two local times.
    shop = await create_tenant(app, "shopee-my", name="Shopee MY", timezone="Asia/Kuala_Lumpur")
    jakarta = await create_tenant(app, "tokopedia-id", name="Tokopedia", timezone="Asia/Jakarta")
    silence = await add_alert(db, shop.tenant.id)  # started 2026-12-01 08:00 UTC
    drop = await add_alert(db, jakarta.tenant.id, "volume_drop", offer_id="77")

    await page.goto(f"{live_server}/admin/alerts")
    await page.fill("#token", ADMIN_TOKEN)
    await page.click(f"button:has-text('{t('sign_in')}')")
    await page.wait_for_url(f"{live_server}/admin/alerts")
    assert await page.inner_text("h1") == t("alerts_nav")
    first = await page.inner_text(f"#alert-{silence}")
    assert "2026-12-01 16:00" in first  # 08:00 UTC in Kuala Lumpur
    assert "Asia/Kuala_Lumpur" in first
    second = await page.inner_text(f"#alert-{drop}")
    assert "2026-12-01 15:00" in second  # in Jakarta
    assert "UTC" not in first + second
    assert t("kind.volume_drop") in second
    message = "Shopee MY 已 3 小时没有回传" if language == "zh" else "Shopee MY has sent no"
    assert message in first
    await page.screenshot(path=screenshot_dir / f"admin-alerts-{language}.png", full_page=True)

    # Filter by partner and kind: only Tokopedia's drop.
    await page.select_option("#filter-tenant", "tokopedia-id")
    await page.select_option("#filter-kind", "volume_drop")
    await page.click("#apply-filters")
    await page.wait_for_url("**/admin/alerts?*")
    assert await page.locator("#alerts tbody tr").count() == 1
    assert await page.locator(f"#alert-{drop}").count() == 1

    # Acknowledge it, then resolve it: each step says so and the filters stay.
    await page.click(f"#alert-{drop} button[name=acknowledge]")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == t("notice_acknowledged", id=drop)
    assert "tenant=tokopedia-id" in page.url
    assert await page.get_attribute(f"#alert-{drop}", "data-state") == "acknowledged"
    assert await page.locator(f"#alert-{drop} button[name=acknowledge]").count() == 0
    await page.click(f"#alert-{drop} button[name=resolve]")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == t("notice_resolved", id=drop)
    assert await page.get_attribute(f"#alert-{drop}", "data-state") == "resolved"
    assert await db.fetchval("SELECT state FROM alert WHERE id = $1", drop) == "resolved"
    await page.select_option("#filter-state", "open")
    await page.select_option("#filter-tenant", "")
    await page.select_option("#filter-kind", "")
    await page.click("#apply-filters")
    await page.wait_for_url("**/admin/alerts?*state=open*")
    assert await page.locator("#alerts tbody tr").count() == 1
    await page.screenshot(path=screenshot_dir / f"admin-alerts-actions-{language}.png")

    # The channels page: a DingTalk channel refused without its URL, then added; its test.
    await page.click("#to-channels")
    await page.wait_for_url(f"{live_server}/admin/alert-channels")
    assert await page.inner_text("h1") == t("alert_channels")
    assert await page.locator("#no-channels").count() == 1
    await page.fill("#channel-name", "On-call DingTalk")
    await page.select_option("#channel-kind", "dingtalk")
    await page.click("#add-channel-button")
    error = page.locator(".field-error[data-field='url']")
    await error.wait_for()
    assert await error.inner_text() == t("error_url_needed")
    await page.fill("#channel-url", f"{receiver.base}/robot/send?access_token=tok-{language}")
    await page.fill("#channel-secret", "SECtest")
    await page.select_option("#channel-language", language)
    await page.select_option("#channel-tenant", str(shop.tenant.id))
    await page.click("#add-channel-button")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == t("notice_channel_added")
    card = page.locator("section[data-kind=dingtalk]")
    shown = await card.inner_text()
    assert "access_token=***" in shown
    assert f"tok-{language}" not in await page.content()
    assert "shopee-my" in shown

    receiver.plans["/robot/send"].body = b'{"errcode":0,"errmsg":"ok"}'
    await card.locator("button[name=test]").click()
    await page.wait_for_selector("#test-result")
    assert t("test_ok") in await page.inner_text("#test-result")
    assert await page.inner_text("#test-status") == "200"
    assert await page.inner_text("#test-answer") == '{"errcode":0,"errmsg":"ok"}'
    (sent,) = receiver.to("/robot/send")
    assert sent.query["access_token"] == f"tok-{language}"
    assert "sign" in sent.query
    text = json.loads(sent.body)["text"]["content"]
    expected = "【Postback】测试消息" if language == "zh" else "[Postback] Test message"
    assert text.startswith(expected)
    await page.screenshot(
        path=screenshot_dir / f"admin-alert-channels-{language}.png", full_page=True
    )

    # Pause it: the card says so.
    await card.locator("button[name=pause]").click()
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == t("notice_channel_paused")
    assert await db.fetchval("SELECT enabled FROM alert_channel") is False
    # The one refused form answered 422, which Chromium notes on the console; nothing else.
    refused = "status of 422"
    assert [e for e in page.console_errors if refused not in e] == []
    assert len(page.console_errors) == 1
    assert foreign(page.requests, live_server) == []
