"""Saved questions as dashboard tiles in a real headless Chromium, in English and Chinese:
the admin's tiles are answered and drawn (an ECharts bar chart, a big number), one is sent
as a weekly report from its form and one removed; a partner sees its own tile with its own
figures and no report form; a partner with none sees the way to /ask. No console error, no
request to any host but the app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from postback.dashboard.labels import LABELS
from postback.web.labels import Translator
from tests.dashboard.test_browser import LOCALES, watch
from tests.fixtures import ADMIN_TOKEN
from tests.reports.helpers import add_channel, bearer, save, two_partners
from tests.web.test_browser import foreign

QUESTIONS = {
    "en": ("payout by offer", "how many conversions"),
    "zh": ("每个offer的佣金是多少", "一共有多少转化"),
}


@pytest.fixture
async def context(browser, live_server, request):
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=LOCALES[request.param]
    )
    context.language = request.param
    yield context
    await context.close()


async def tiles_ready(page: Any) -> None:
    await page.wait_for_function("() => document.body.dataset.tiles === 'ready'")


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_saved_tiles_on_the_dashboard(
    context, live_server, screenshot_dir, app, db, client, admin_headers
):
    language = context.language
    t = Translator(language, LABELS)
    keys = await two_partners(app, client)
    by_offer, how_many = QUESTIONS[language]
    offers = await save(client, admin_headers, by_offer, "Payouts · 佣金")
    total = await save(client, admin_headers, how_many, "Conversions · 转化")
    count = await client.post(f"/api/saved-questions/{total['id']}/answer", headers=admin_headers)
    assert count.json()["chart"]["type"] == "number", count.text
    assert count.json()["rows"] == [[4]]  # and B-1
    channel = await add_channel(
        client, admin_headers, name="Ops Lark", kind="lark", url="http://127.0.0.1:9/hook"
    )
    acme_tile = await save(client, bearer(keys["acme"]), by_offer, "Acme 佣金")

    page = watch(await context.new_page())
    await page.goto(live_server + "/admin/login")
    await page.fill("#token", ADMIN_TOKEN)
    await page.click("form[action='/admin/login'] button[type=submit]")
    await page.wait_for_url(live_server + "/admin")
    await page.goto(live_server + "/dashboard")
    await tiles_ready(page)
    assert await page.inner_text("#saved h2") == t("saved_questions")
    titles = await page.locator("#tiles .tile h3").all_inner_texts()
    assert titles == ["Payouts · 佣金", "Conversions · 转化"]
    bar = page.locator(f".tile[data-id='{offers['id']}']")
    assert await bar.get_attribute("data-chart") == "bar"
    assert await bar.locator(".tile-chart canvas").count() == 1
    interpretation = await bar.locator(".interpretation").inner_text()
    assert ("指标" in interpretation) == (language == "zh")
    number = page.locator(f".tile[data-id='{total['id']}'] .big-number")
    assert await number.get_attribute("data-value") == "4"
    assert await page.locator(".tile[data-id] details.schedule").count() == 2

    # Sent every Wednesday at 08:00 to the Lark channel, from the tile's form.
    form = bar.locator("details.schedule")
    await form.locator("summary").click()
    assert await form.locator("select[name=channel] option").all_inner_texts() == [
        "Ops Lark (lark)"
    ]
    await form.locator("select[name=cadence]").select_option("weekly")
    await form.locator("select[name=weekday]").select_option("2")
    await form.locator("input[name=hour]").fill("8")
    await form.locator("button[type=submit]").click()
    await bar.locator(".reports li").wait_for()
    reports = (await client.get("/api/reports", headers=admin_headers)).json()["items"]
    assert [(r["saved_question_id"], r["cadence"], r["weekday"], r["hour"]) for r in reports] == [
        (offers["id"], "weekly", 2, 8)
    ]
    assert reports[0]["channel_id"] == channel["id"]
    line = await bar.locator(".reports li").inner_text()
    for part in (t("weekday_2"), "08:00", "Ops Lark"):
        assert part in line
    await page.screenshot(path=screenshot_dir / f"dashboard-tiles-{language}.png", full_page=True)

    # Paused and resumed from its line, then stopped.
    item = bar.locator(".reports li")
    await item.locator("button.toggle").click()
    await bar.locator(".reports li[data-enabled=false]").wait_for()
    assert t("report_paused") in await bar.locator(".reports li").inner_text()
    paused = (await client.get("/api/reports", headers=admin_headers)).json()["items"]
    assert [r["enabled"] for r in paused] == [False]
    await bar.locator(".reports li button.toggle").click()
    await bar.locator(".reports li[data-enabled=true]").wait_for()
    await bar.locator(".reports li button.stop").click()
    await bar.locator(".reports li").wait_for(state="detached")
    assert (await client.get("/api/reports", headers=admin_headers)).json() == {"items": []}

    # Removed from its tile: gone from the page and from the asker's list.
    await page.locator(f".tile[data-id='{total['id']}'] button.remove").click()
    await page.locator(f".tile[data-id='{total['id']}']").wait_for(state="detached")
    listed = (await client.get("/api/saved-questions", headers=admin_headers)).json()["items"]
    assert [q["id"] for q in listed] == [offers["id"]]
    assert foreign(page.requests, live_server) == []
    assert page.console_errors == []

    # A partner: its own tile, its own figures, no report form.
    await context.clear_cookies()
    partner = watch(await context.new_page())
    await partner.goto(live_server + "/dashboard")
    await partner.fill("#api_key", keys["acme"])
    await partner.click("form[action='/dashboard/login'] button[type=submit]")
    await tiles_ready(partner)
    assert await partner.locator("#tiles .tile h3").all_inner_texts() == ["Acme 佣金"]
    tile = partner.locator(f".tile[data-id='{acme_tile['id']}']")
    assert await tile.get_attribute("data-chart") == "bar"
    assert await tile.locator("details.schedule").count() == 0
    async with httpx.AsyncClient() as network:
        drawn = await partner.evaluate(
            "id => echarts.getInstanceByDom(document.getElementById('tile-chart-' + id))"
            ".getOption().series[0].data",
            acme_tile["id"],
        )
        own = await network.post(
            f"{live_server}/api/saved-questions/{acme_tile['id']}/answer",
            headers=bearer(keys["acme"]),
        )
    payout = own.json()["columns"].index("payout_myr")
    assert drawn == [float(row[payout]) for row in own.json()["rows"]]
    assert sorted(drawn) == [2.5, 15.03]  # Lazada MY 2.50; Shopee MY 5.01 + 10.02
    await partner.screenshot(
        path=screenshot_dir / f"dashboard-tiles-partner-{language}.png", full_page=True
    )
    assert foreign(partner.requests, live_server) == []
    assert partner.console_errors == []

    # A partner with no saved question is shown the way to /ask.
    await context.clear_cookies()
    empty = watch(await context.new_page())
    await empty.goto(live_server + "/dashboard")
    await empty.fill("#api_key", keys["bravo"])
    await empty.click("form[action='/dashboard/login'] button[type=submit]")
    await tiles_ready(empty)
    assert await empty.is_visible("#saved-empty")
    assert t("saved_empty") in await empty.inner_text("#saved-empty")
    assert await empty.get_attribute("#saved-empty a", "href") == "/ask"
    assert empty.console_errors == []


@pytest.mark.parametrize("context", ["zh"], indirect=True)
async def test_a_question_asked_at_ask_becomes_a_tile(
    context, live_server, screenshot_dir, app, db, client
):
    """A partner asks at /ask, saves the answer from its form, and finds it on the dashboard
    (the same browser session), with the figures the question gave."""
    keys = await two_partners(app, client)
    question = "最近7天每个offer的佣金"
    page = watch(await context.new_page())
    await page.goto(live_server + "/ask")
    await page.fill("#token", keys["acme"])
    await page.click("form[action='/ask/login'] button[type=submit]")
    await page.wait_for_selector("#ask[data-ready]")
    await page.fill("#question", question)
    await page.click("#ask-button")
    await page.wait_for_selector("#save-form:not([hidden])")
    await page.fill("#save-title", "本周佣金")
    await page.click("#save-button")
    await page.wait_for_selector("#save-result:not([hidden]) a[href='/dashboard']")
    await page.click("#save-result a[href='/dashboard']")
    await tiles_ready(page)
    assert await page.locator("#tiles .tile h3").all_inner_texts() == ["本周佣金"]
    tile = page.locator("#tiles .tile")
    assert "最近7天" in await tile.locator(".interpretation").inner_text()
    saved = (await client.get("/api/saved-questions", headers=bearer(keys["acme"]))).json()
    assert [(q["title"], q["question"]) for q in saved["items"]] == [("本周佣金", question)]
    drawn = await page.evaluate(
        "id => echarts.getInstanceByDom(document.getElementById('tile-chart-' + id))"
        ".getOption().series[0].data",
        saved["items"][0]["id"],
    )
    assert sorted(drawn) == [2.5, 15.03]
    await page.screenshot(path=screenshot_dir / "ask-saved-tile-zh.png", full_page=True)
    assert foreign(page.requests, live_server) == []
    assert page.console_errors == []
