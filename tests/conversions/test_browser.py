"""Finding a conversion in a real headless Chromium, in English and in Chinese: the admin types
in the header's search box, opens a result and reads its history and payloads (a hostile
payload stays text); a partner does the same from the dashboard and sees only its own. Every
request stays on the app's host and the console shows no error."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from postback.admin.labels import LABELS as ADMIN_LABELS
from postback.dashboard.labels import LABELS as DASHBOARD_LABELS
from postback.web.labels import Translator
from tests.factories import create_tenant, postback
from tests.fixtures import ADMIN_TOKEN
from tests.web.test_browser import foreign

LOCALES = {"en": "en-US", "zh": "zh-CN"}
# Would set window.pwned if the page ever let it become markup.
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


@pytest.fixture
async def context(browser, live_server, request):
    language = request.param
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=LOCALES[language]
    )
    context.language = language
    yield context
    await context.close()


@pytest.fixture
async def page(context):
    page = await context.new_page()
    page.requests, page.console_errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on(
        "console",
        lambda message: (
            page.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    return page


async def send(client: httpx.AsyncClient, conversion_id: str, **fields: Any) -> int:
    response = await client.get("/postback/", params=postback(conversion_id, **fields))
    assert response.status_code == 200, response.text
    row_id: int = response.json()["id"]
    return row_id


@pytest.fixture
async def sent(app, client, db) -> dict[str, Any]:
    acme = await create_tenant(app, "acme", ts_token="tok-acme")
    await create_tenant(app, "other", ts_token="tok-other")
    ids = {
        "first": await send(client, "IA-88231", ts_token="tok-acme", aff_sub=HOSTILE),
        "again": await send(client, "IA-88231", ts_token="tok-acme"),
        "approved": await send(client, "IA-88231", ts_token="tok-acme", status="approved"),
        "near": await send(client, "IA-88299", ts_token="tok-acme"),
        "theirs": await send(client, "IA-88777", ts_token="tok-other", order_id="ORD-THEIRS"),
        "far": await send(client, "IB-1", ts_token="tok-acme"),
    }
    return {"ids": ids, "acme_key": acme.secrets["api_key"]}


async def result_ids(page: Any) -> list[int]:
    cells = await page.locator("#search-results tbody tr td:first-child").all_inner_texts()
    return [int(c) for c in cells]


async def read_history(page: Any, t: Translator, ids: dict[str, int]) -> None:
    """The conversion page of IA-88231: three postbacks in order, one status change, the
    payloads shown as text."""
    assert t("conversion_title", id="IA-88231") == await page.inner_text("#conversion-title")
    assert await page.inner_text("#current-status") == t("status_approved")
    entries = await page.locator("ol.history > li").evaluate_all("els => els.map(e => e.id)")
    assert entries == [f"entry-{ids[k]}" for k in ("first", "again", "approved")]
    changed = page.locator("ol.history > li.changed")
    assert await changed.count() == 1
    assert t("status_changed_from", status=t("status_pending")) in await changed.inner_text()
    await page.click(f"#entry-{ids['first']} summary")
    payload = await page.inner_text(f"#entry-{ids['first']} .payload-json")
    assert HOSTILE.replace('"', '\\"') in payload  # the JSON text, as received
    assert HOSTILE in await page.inner_text("#conversion-facts")
    assert await page.evaluate("window.pwned") is None
    assert await page.locator("#conversion-facts img, .payload-json img").count() == 0


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_the_admin_finds_a_conversion(context, page, live_server, sent, screenshot_dir):
    language = context.language
    t = Translator(language, ADMIN_LABELS)
    ids = sent["ids"]
    await page.goto(live_server + "/admin/login")
    await page.fill("#token", ADMIN_TOKEN)
    await page.click(f"button:has-text('{t('sign_in')}')")
    await page.wait_for_url(live_server + "/admin")

    await page.fill("#top-search", "IA-88")
    await page.press("#top-search", "Enter")
    await page.wait_for_selector("#search-found")
    assert urlsplit(page.url).path == "/admin/conversions"
    want = sorted([ids[k] for k in ("first", "again", "approved", "near", "theirs")], reverse=True)
    assert await result_ids(page) == want
    assert await page.inner_text("#search-found") == (
        t("found", count=5) + " " + t("times_in", zone="Asia/Kuala_Lumpur")
    )
    assert await page.input_value("#search-q") == "IA-88"
    await page.screenshot(path=screenshot_dir / f"admin-search-{language}.png", full_page=True)

    # Narrowed by partner in the form's more filters.
    await page.click(f"summary:has-text('{t('more_filters')}')")
    await page.select_option("#search-tenant", "other")
    await page.click("#search-submit")
    await page.wait_for_selector("#search-found")
    assert await result_ids(page) == [ids["theirs"]]

    # A problem is named on the page, the form kept.
    await page.fill("#search-q", "IA")
    await page.select_option("#search-tenant", "")
    await page.fill("#search-min-sale", "lots")
    await page.click("#search-submit")
    await page.wait_for_selector("#search-problems")
    problems = await page.inner_text("#search-problems")
    assert "q" in problems
    assert "min_sale" in problems
    assert await page.input_value("#search-min-sale") == "lots"

    await page.goto(live_server + "/admin/conversions?conversion_id=IA-88231&tenant=acme")
    await page.click(f"#search-results a:text-is('{ids['again']}')")
    await page.wait_for_selector("#conversion-history")
    await read_history(page, t, ids)
    assert await page.locator(f"#entry-{ids['again']}.chosen").count() == 1
    await page.screenshot(path=screenshot_dir / f"admin-conversion-{language}.png", full_page=True)

    assert foreign(page.requests, live_server) == []
    # The page with problems answers 422: the one console message a browser writes for it.
    assert [e for e in page.console_errors if "422" not in e] == []


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_a_partner_finds_its_own(context, page, live_server, sent, screenshot_dir):
    language = context.language
    t = Translator(language, DASHBOARD_LABELS)
    ids = sent["ids"]
    await page.goto(live_server + "/dashboard")
    await page.fill("#api_key", sent["acme_key"])
    await page.click(f"button:has-text('{t('sign_in')}')")
    await page.wait_for_selector("#top-search")

    await page.fill("#top-search", "IA-88")
    await page.press("#top-search", "Enter")
    await page.wait_for_selector("#search-found")
    want = sorted([ids[k] for k in ("first", "again", "approved", "near")], reverse=True)
    assert await result_ids(page) == want
    assert "ORD-THEIRS" not in await page.inner_text("body")
    assert await page.locator("#search-tenant").count() == 0
    await page.screenshot(path=screenshot_dir / f"dashboard-search-{language}.png", full_page=True)

    await page.click(f"#search-results a:text-is('{ids['first']}')")
    await page.wait_for_selector("#conversion-history")
    await read_history(page, t, ids)

    # Another partner's conversion, by its address: not found, nothing of it shown.
    await page.goto(live_server + f"/dashboard/conversions/{ids['theirs']}")
    assert await page.inner_text("#not-found") == t("no_such_conversion")
    assert "IA-88777" not in await page.inner_text("body")

    assert foreign(page.requests, live_server) == []
    # The refused page's 404 is the one console message a browser writes for it.
    assert [e for e in page.console_errors if "404" not in e] == []
