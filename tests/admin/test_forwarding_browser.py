"""The forwarding pages in a real headless Chromium, in English and in Chinese, against a real
receiver on loopback: a refused macro shown next to the field, a signed forward added through
the form with its secret shown once, a postback delivered and its attempt in the log, a
failing receiver flagged and its dead deliveries re-sent. Every request stays on the app's
host (and the receiver, which only the app calls) and the console shows no error."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from postback.admin.labels import LABELS
from postback.web.labels import Translator
from tests.admin.test_browser import LOCALES
from tests.factories import create_tenant, postback
from tests.fixtures import ADMIN_TOKEN
from tests.forwarding.helpers import eventually
from tests.web.test_browser import foreign


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


async def send_postback(base: str, conversion_id: str, token: str) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    params = postback(conversion_id, ts_token=token, datetime_conversion=now)
    async with httpx.AsyncClient() as network:
        sent = await network.get(base + "/postback/", params=params)
    assert sent.status_code == 200, sent.text


async def forward_states(db, forward_id: int) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT state, count(*) AS n FROM delivery WHERE forward_id = $1 GROUP BY state",
        forward_id,
    )
    return {row["state"]: row["n"] for row in rows}


async def added_forward_id(page) -> int:
    """The forward the page was redirected to after adding it (its card's anchor)."""
    await page.wait_for_url(re.compile(r".*/forwards#forward-\d+$"))
    return int(page.url.rsplit("#forward-", 1)[1])


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_forwarding_in_a_browser(
    context, page, live_server, receiver, screenshot_dir, app, db
):
    language = context.language
    t = Translator(language, LABELS)
    token = f"tok-forward-{language}"
    tenant = (await create_tenant(app, f"fwd-{language}", ts_token=token)).tenant
    ok_path, down_path = f"/ok-{language}", f"/down-{language}"

    # Signed in, from the partner's page to its forwards.
    await page.goto(f"{live_server}/admin/partners/{tenant.id}")
    await page.fill("#token", ADMIN_TOKEN)
    await page.click(f"button:has-text('{t('sign_in')}')")
    await page.wait_for_url(f"{live_server}/admin/partners/{tenant.id}")
    await page.click(f"p.partner-links a[href$='/{tenant.id}/forwards']")
    await page.wait_for_url(f"**/admin/partners/{tenant.id}/forwards")
    assert await page.inner_text("h1") == t("forwards")
    assert t("no_forwards") in await page.inner_text("main")
    macros_shown = await page.locator("code.macro").all_inner_texts()
    assert "{conversion_id}" in macros_shown
    assert "{payout}" in macros_shown

    # A misspelt macro: refused next to the URL field, the form kept as typed.
    misspelt = receiver.base + ok_path + "?c={conversion_id}&p={payot}"
    await page.fill("#url", misspelt)
    await page.click("#add-forward-button")
    error = page.locator(".field-error[data-field='url']")
    await error.wait_for()
    assert await error.inner_text() == t("error_unknown_macro", names="{payot}")
    assert await page.input_value("#url") == misspelt
    await page.screenshot(path=screenshot_dir / f"forwarding-refused-{language}.png")

    # A signed POST forward: its secret shown once, then never again.
    url = receiver.base + ok_path + "?c={conversion_id}&pay={payout}"
    await page.fill("#url", url)
    await page.select_option("#method", "POST")
    await page.check("#signing")
    await page.click("#add-forward-button")
    forward_id = await added_forward_id(page)
    assert t("notice_forward_added") in await page.inner_text("#notice")
    secret = await page.inner_text("#signing-secret")
    assert secret == await db.fetchval(
        "SELECT signing_secret FROM forward WHERE id = $1", forward_id
    )
    await page.click("#shown-once button[data-copy='signing-secret']")
    await page.wait_for_selector(f"#shown-once button:has-text('{t('copied')}')")
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await page.screenshot(path=screenshot_dir / f"forwarding-added-{language}.png", full_page=True)
    await page.reload()
    assert await page.query_selector("#shown-once") is None
    assert secret not in await page.content()

    # Send test: the sample conversion, and the receiver's answer.
    await page.click(f"#forward-{forward_id} button[name='test']")
    await page.wait_for_selector("#test-result")
    assert await page.inner_text("#test-status") == "200"
    assert t("test_ok") in await page.inner_text("#test-result")
    assert [hit.query["c"] for hit in receiver.to(ok_path)] == ["TEST-0001"]

    # A postback comes in: delivered, signed with that secret, its attempt in the log.
    conversion_id = f"FWD-{language.upper()}-{datetime.now(UTC):%H%M%S%f}"
    await send_postback(live_server, conversion_id, token)
    hits = await eventually(
        lambda: [h for h in receiver.to(ok_path) if h.query["c"] != "TEST-0001"]
    )
    (hit,) = hits
    assert hit.query == {"c": conversion_id, "pay": "6.02"}
    assert Webhook(secret).verify(hit.body, hit.headers)["conversion_id"] == conversion_id
    await eventually(lambda: _delivered(db, forward_id))

    await page.click("nav.subnav a[href$='/deliveries']")
    await page.wait_for_url(f"**/admin/partners/{tenant.id}/deliveries")
    delivery_id = await db.fetchval("SELECT id FROM delivery WHERE forward_id = $1", forward_id)
    row = page.locator(f"#delivery-{delivery_id}")
    assert conversion_id in await row.inner_text()
    assert await row.get_attribute("data-state") == "delivered"
    assert t("state_delivered") in await row.inner_text()
    await page.click(f"#attempts-{delivery_id} summary")
    attempt = page.locator(f"#attempts-{delivery_id} tr.attempt")
    await attempt.first.wait_for()
    assert await attempt.count() == 1
    cells = await attempt.first.locator("td").all_inner_texts()
    assert cells[0] == "1"
    assert cells[3] == "200"
    assert cells[2] == (receiver.base + ok_path + f"?c={conversion_id}&pay=6.02")
    await page.screenshot(path=screenshot_dir / f"forwarding-log-{language}.png", full_page=True)
    await page.click(f"#delivery-{delivery_id} a[href$='/deliveries/{delivery_id}']")
    await page.wait_for_url(f"**/deliveries/{delivery_id}")
    assert await page.inner_text("#delivery-state") == t("state_delivered")
    assert await page.inner_text("#delivery-conversion") == conversion_id

    # A receiver that keeps failing: its deliveries die, the forward is flagged, not disabled.
    receiver.plans[down_path].statuses = [500] * 1000
    await page.click("nav.subnav a[href$='/forwards']")
    await page.fill("#url", receiver.base + down_path + "?c={conversion_id}")
    await page.click("#add-forward-button")
    down_id = await added_forward_id(page)
    for n in range(3):
        await send_postback(live_server, f"{conversion_id}-DOWN-{n}", token)
    await eventually(lambda: _all_dead(db, down_id, 3))
    await page.goto(f"{live_server}/admin/partners/{tenant.id}/forwards")
    card = page.locator(f"#forward-{down_id}")
    assert await card.locator(".badge.failing").inner_text() == t("failing", count=3)
    assert await card.locator(".badge.on").inner_text() == t("active")
    await page.screenshot(
        path=screenshot_dir / f"forwarding-failing-{language}.png", full_page=True
    )

    # The receiver is fixed: every dead one re-sent, delivered, and the flag gone.
    receiver.plans[down_path].statuses = []
    await card.locator("button[name='resend']").click()
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == t("notice_requeued", count=3)
    await eventually(lambda: _all_delivered(db, down_id, 3))
    await page.reload()
    card = page.locator(f"#forward-{down_id}")
    assert await card.locator(".badge.failing").count() == 0
    assert await card.locator("strong[data-state='delivered']").inner_text() == "3"
    assert await card.locator("strong[data-state='dead']").inner_text() == "0"

    # The log filtered to that forward's delivered ones: the three, newest first.
    await page.goto(
        f"{live_server}/admin/partners/{tenant.id}/deliveries?forward_id={down_id}&state=delivered"
    )
    ids = [
        int(i) for i in re.findall(r'id="delivery-(\d+)"', await page.inner_html("#delivery-log"))
    ]
    expected = await db.fetch(
        "SELECT id FROM delivery WHERE forward_id = $1 ORDER BY id DESC", down_id
    )
    assert ids == [row["id"] for row in expected]
    assert len(ids) == 3

    assert foreign(page.requests, live_server) == []
    # The refused form's page came with status 422, which Chromium logs; nothing else.
    refused = "the server responded with a status of 422"
    assert [e for e in page.console_errors if refused not in e] == []
    assert len(page.console_errors) == 1


async def _delivered(db, forward_id: int) -> bool:
    return await forward_states(db, forward_id) == {"delivered": 1}


async def _all_dead(db, forward_id: int, count: int) -> bool:
    return await forward_states(db, forward_id) == {"dead": count}


async def _all_delivered(db, forward_id: int, count: int) -> bool:
    return await forward_states(db, forward_id) == {"delivered": count}
