"""The forecast on the dashboard in a real headless Chromium, in English and in Chinese: a
partner with eight weeks of history signs in with its API key, picks the last 30 days, and
the chart carries the next 7 days as dashed lines with their band, told in the note below it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from postback.dashboard.labels import LABELS
from postback.forecasts import service
from postback.web.labels import Translator
from tests.dashboard.test_browser import loaded, watch
from tests.factories import create_tenant
from tests.forecasts.test_forecast import insert_days, weekly
from tests.web.test_browser import foreign

LOCALES = {"en": "en-US", "zh": "zh-CN"}
ZONE = ZoneInfo("Asia/Kuala_Lumpur")


@pytest.fixture
async def context(browser, live_server, request):
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=LOCALES[request.param]
    )
    context.language = request.param
    yield context
    await context.close()


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_the_forecast_beside_the_actuals(context, live_server, screenshot_dir, app, db):
    service.forget()
    language = context.language
    t = Translator(language, LABELS)
    shop = await create_tenant(app, "shopee-my", name="Shopee MY", timezone=ZONE.key)
    today = datetime.now(ZONE).date()
    days = [today - timedelta(days=d) for d in range(1, 57)]
    await insert_days(db, shop.tenant.id, {d: weekly(d) for d in days}, ZONE)
    page = watch(await context.new_page())
    await page.goto(live_server + "/dashboard")
    await page.fill("#api_key", shop.secrets["api_key"])
    await page.click("form[action='/dashboard/login'] button[type=submit]")
    await page.wait_for_selector("#chart-series canvas")
    count = await loaded(page, None)
    # Today's hours: no forecast beside them.
    assert await page.locator("#forecast-note").is_hidden()
    await page.click(f"label.chip:has-text('{t('last_30_days')}')")
    await loaded(page, count)
    note = page.locator("#forecast-note")
    await note.wait_for()
    expected = (
        t("forecast_note")
        .replace("{days}", "7")
        .replace("{history}", "56")
        .replace("{model}", "ETS(A,N,A) weekly")
    )
    assert await note.inner_text() == expected
    assert await page.get_attribute("#chart-series", "data-forecast-days") == "7"
    await page.locator("#chart-series").scroll_into_view_if_needed()
    await page.screenshot(
        path=screenshot_dir / f"dashboard-forecast-{language}.png", full_page=True
    )
    assert page.console_errors == []
    assert foreign(page.requests, live_server) == []
    service.forget()
