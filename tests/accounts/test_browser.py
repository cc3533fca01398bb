"""The users pages in a real headless Chromium, in English and in Chinese: an admin user
signs in with email and password, creates an analyst (the generated password shown once,
not again on reload), changes its role, resets its password, ends its sessions and disables
it; the analyst signs in to the dashboard with what was shown. No request leaves the app's
host and the console shows no error."""

from __future__ import annotations

import pytest

from postback.admin.labels import LABELS
from postback.web.labels import Translator
from tests.accounts.helpers import PASSWORD
from tests.factories import create_tenant, create_user
from tests.web.test_browser import foreign

LOCALES = {"en": "en-US", "zh": "zh-CN"}


@pytest.fixture
async def context(browser, live_server, request):
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=LOCALES[request.param]
    )
    context.language = request.param
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
    page.on("dialog", lambda dialog: dialog.accept())
    return page


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_users_in_a_browser(context, page, live_server, screenshot_dir, app, db):
    language = context.language
    t = Translator(language, LABELS)
    await app.state.sign_in_throttle.reset()
    await create_tenant(app, "acme", name="Acme")
    await create_user(app, "boss@example.com", "admin", name="Boss")

    await page.goto(live_server + "/admin/users")
    await page.fill("#email", "boss@example.com")
    await page.fill("#password", PASSWORD)
    await page.click(f"button:has-text('{t('sign_in')}')")
    await page.wait_for_url(live_server + "/admin/users")
    assert await page.inner_text("h1") == t("users")
    assert "boss@example.com" in await page.inner_text("#users")

    # A new analyst with a generated password, shown once.
    await page.fill("#new-user #email", "ana@example.com")
    await page.fill("#new-user #display_name", "安娜" if language == "zh" else "Ana")
    await page.select_option("#new-user #role", "analyst")
    await page.click(f"button:has-text('{t('create_user')}')")
    await page.wait_for_selector("#shown-once")
    assert await page.inner_text("#notice") == t("user_created")
    password = (await page.inner_text("#new-password")).strip()
    assert len(password) >= 20
    await page.screenshot(path=screenshot_dir / f"admin-user-created-{language}.png")
    user_url = page.url
    await page.reload()
    assert await page.query_selector("#shown-once") is None
    assert password not in await page.content()

    # Its role: partner needs a partner; then back to analyst.
    await page.select_option("#user-form #role", "partner")
    await page.click(f"#user-form button:has-text('{t('save')}')")
    await page.wait_for_selector("#problems")
    assert "partner" in await page.inner_text("#problems")
    await page.select_option("#user-form #role", "partner")
    await page.select_option("#user-form #partner", "acme")
    await page.click(f"#user-form button:has-text('{t('save')}')")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == t("user_saved")
    assert await db.fetchval("SELECT role FROM app_user WHERE email = 'ana@example.com'") == (
        "partner"
    )
    await page.select_option("#user-form #role", "analyst")
    await page.click(f"#user-form button:has-text('{t('save')}')")
    await page.wait_for_selector("#notice")

    # The analyst signs in to the dashboard (another browser) with the password shown.
    other = await context.browser.new_context(locale=LOCALES[language])
    analyst = await other.new_page()
    await analyst.goto(live_server + "/dashboard")
    await analyst.fill("#email", "ana@example.com")
    await analyst.fill("#password", password)
    await analyst.click("form[action='/dashboard/login'] button")
    await analyst.wait_for_selector("#kpis")

    await page.goto(user_url)
    assert await page.inner_text("#live-sessions") == "1"
    await page.click("#revoke-sessions")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == t("sessions_revoked", count=1)
    await analyst.reload()
    assert await analyst.query_selector("#kpis") is None  # signed out

    # A reset password, shown once; disabling.
    await page.click("#reset-password")
    await page.wait_for_selector("#shown-once")
    assert await page.inner_text("#notice") == t("password_reset")
    assert (await page.inner_text("#new-password")).strip() != password
    await page.click("#toggle-user")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == t("user_disabled")
    assert t("account_state_disabled") in await page.inner_text("#user-state")
    await page.screenshot(path=screenshot_dir / f"admin-user-{language}.png", full_page=True)
    await other.close()

    assert foreign(page.requests, live_server) == []
    # The one refused form (a partner user without a partner) answered 422, as it should;
    # Chromium reports any 4xx page load on the console.
    expected = "the server responded with a status of 422"
    assert [e for e in page.console_errors if expected not in e] == []
