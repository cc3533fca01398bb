"""The admin pages in a real headless Chromium, in English and in Chinese: sign in, create a
partner, copy its postback URL, send a postback to it and find it on the partner's page.
Every request stays on the app's host and the console shows no error (the pages' CSP
would report any inline script or style there)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from postback.admin.labels import LABELS
from postback.web.labels import Translator
from tests.factories import fill_macros
from tests.fixtures import ADMIN_TOKEN
from tests.web.test_browser import foreign

LOCALES = {"en": "en-US", "zh": "zh-CN"}


@pytest.fixture
async def context(browser, live_server, request):
    language = request.param
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale=LOCALES[language],
        permissions=["clipboard-read", "clipboard-write"],
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


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_admin_in_a_browser(context, page, live_server, screenshot_dir, db):
    language = context.language
    t = Translator(language, LABELS)
    slug = f"shopee-{language}"

    # Signing in: the browser's language decides the page's.
    await page.goto(live_server + "/admin")
    assert urlsplit(page.url).path == "/admin/login"
    assert await page.inner_text("h1") == t("sign_in_title")
    assert await page.get_attribute("html", "lang") == ("zh-CN" if language == "zh" else "en")
    await page.screenshot(path=screenshot_dir / f"admin-login-{language}.png")
    await page.fill("#token", ADMIN_TOKEN)
    await page.click(f"button:has-text('{t('sign_in')}')")
    await page.wait_for_url(live_server + "/admin")
    assert await page.inner_text("h1") == t("partners")

    # A partner through the form.
    await page.click(f"a.button:has-text('{t('new_partner')}')")
    await page.wait_for_url("**/admin/partners/new")
    await page.fill("#name", "Shopee 合作伙伴" if language == "zh" else "Shopee MY partner")
    await page.fill("#slug", slug)
    await page.fill("#rate_limit_per_minute", "600")
    await page.click(f"button:has-text('{t('create_partner')}')")
    await page.wait_for_selector("#shown-once")
    assert t("created") in await page.inner_text(".alert.ok")
    partner_path = urlsplit(await page.get_attribute(".crumbs a:last-child", "href")).path

    # Its postback URL, copied with the button.
    url = await page.input_value("#postback-url")
    assert url.startswith(live_server + "/postback/?conversion_id={conversion_id}&")
    (token,) = parse_qs(urlsplit(url).query)["ts_token"]
    assert token == await page.inner_text("#secret-ts_token")
    await page.click("#copy-url")
    await page.wait_for_selector(f"#copy-url:has-text('{t('copied')}')")
    assert await page.evaluate("navigator.clipboard.readText()") == url
    await page.screenshot(path=screenshot_dir / f"admin-created-{language}.png", full_page=True)

    # Involve Asia fills the macros and calls it; a bad one is kept as a rejection.
    conversion_id = f"IA-{language.upper()}-{datetime.now(UTC):%H%M%S%f}"
    now = datetime.now(UTC).isoformat(timespec="seconds")
    async with httpx.AsyncClient() as network:
        sent = await network.get(fill_macros(url, conversion_id, datetime_conversion=now))
        assert sent.status_code == 200, sent.text
        assert sent.json()["tenant"] == slug
        bad = await network.get(
            live_server + "/postback/",
            params={
                "conversion_id": conversion_id + "-BAD",
                "ts_token": token,
                "usd_payout": "abc",
            },
        )
        assert bad.status_code == 422

    # The partner's page shows it, and no longer the secrets.
    await page.goto(live_server + partner_path)
    postbacks = await page.inner_text("#recent-postbacks")
    assert conversion_id in postbacks
    assert "27.10" in postbacks
    assert conversion_id + "-BAD" in await page.inner_text("#recent-rejections")
    assert await page.inner_text("#conversions-today") == "1"
    assert await page.query_selector("#shown-once") is None
    body = await page.inner_text("body")
    for key in ("recent_postbacks", "rejections", "rotate", "copy_url", "settings", "sign_out"):
        assert t(key) in body, key
    other = Translator("en" if language == "zh" else "zh", LABELS)
    assert other("recent_postbacks") not in body
    await page.screenshot(path=screenshot_dir / f"admin-partner-{language}.png", full_page=True)

    # The list: today's conversions and the last postback.
    await page.click(f"nav.main-nav a:has-text('{t('partners')}')")
    row = page.locator("table.partners tr", has_text=slug)
    cells = await row.locator("td").all_inner_texts()
    assert cells[1] == slug
    assert cells[3] == "1"
    assert cells[4] != t("never")
    assert t("conversions_today") in await page.inner_text("table.partners thead")
    await page.screenshot(path=screenshot_dir / f"admin-partners-{language}.png", full_page=True)

    # The switch to the other language, remembered on the next page.
    other_language = other.language
    await page.click(f"nav.lang a[href$='?lang={other_language}']")
    assert await page.inner_text("h1") == other("partners")
    await page.goto(live_server + partner_path)
    assert other("recent_postbacks") in await page.inner_text("body")

    assert foreign(page.requests, live_server) == []
    assert page.console_errors == []


def test_labels_cover_the_browser_checks():
    for key in ("sign_in_title", "partners", "new_partner", "created", "copied", "never"):
        assert key in LABELS
