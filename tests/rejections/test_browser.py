"""The rejections page in a real headless Chromium, in English and in Chinese: a refused
postback whose payload carries markup is shown as text (no script runs), the queue is
filtered, a field is corrected in the page and the rejection replayed into a conversion."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from postback.rejections.labels import LABELS
from postback.web.labels import Translator
from tests.admin.test_browser import context, page  # noqa: F401 (fixtures)
from tests.factories import postback
from tests.fixtures import ADMIN_TOKEN
from tests.web.test_browser import foreign

EVIL = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>"


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_rejections_in_a_browser(context, page, live_server, screenshot_dir, db):  # noqa: F811
    language = context.language
    t = Translator(language, LABELS)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    conversion_id = f"BR-{language}-{datetime.now(UTC):%H%M%S%f}"
    async with httpx.AsyncClient() as network:
        bad = await network.get(
            live_server + "/postback/",
            params=postback(conversion_id, usd_payout="1,35", aff_sub=EVIL),
        )
        assert bad.status_code == 422
        too_large = await network.post(
            live_server + "/postback/",
            content=b"conversion_id=BIG&pad=" + b"q" * 70_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert too_large.status_code == 413
    rejection_id = await db.fetchval(
        "SELECT id FROM rejection WHERE conversion_id = $1", conversion_id
    )

    await page.goto(live_server + "/admin/login?next=/admin/rejections")
    await page.fill("#token", ADMIN_TOKEN)
    await page.click(f"button:has-text('{t('sign_in')}')")
    await page.wait_for_url(live_server + "/admin/rejections")
    assert await page.inner_text("h1") == t("rejections")
    row = page.locator(f"#rejection-{rejection_id}")
    assert EVIL in await row.locator("pre.raw").inner_text()  # the markup, as text
    assert await page.evaluate("window.pwned === undefined")
    assert await page.locator("img[src='x']").count() == 0
    assert t("matching", count=2) in await page.inner_text("#matching")
    assert t("truncated") in await page.inner_text("table#rejections")
    await page.screenshot(path=screenshot_dir / f"rejections-{language}.png", full_page=True)

    # Only the bodies too large.
    await page.select_option("#filter-reason", "too_large")
    await page.click("#apply-filters")
    await page.wait_for_url("**reason=too_large**")
    assert t("matching", count=1) in await page.inner_text("#matching")
    assert "conversion_id=BIG&pad=qqq" in await page.inner_text("table#rejections")
    await page.select_option("#filter-reason", "invalid")
    await page.click("#apply-filters")
    await page.wait_for_url("**reason=invalid**")

    # Corrected in the page, replayed.
    field = page.locator(f"#rejection-{rejection_id} input[data-field='usd_payout']")
    assert await field.input_value() == "1,35"
    await field.fill("1.35")
    await page.click(f"#rejection-{rejection_id} button.replay")
    await page.wait_for_url("**notice=replayed**")
    conversion_pk = await db.fetchval(
        "SELECT id FROM conversion WHERE conversion_id = $1", conversion_id
    )
    assert conversion_pk is not None
    assert await page.inner_text("#notice") == t("notice_replayed", id=conversion_pk)
    assert "reason=invalid" in page.url  # the filters kept
    state = await page.inner_text(f"#rejection-{rejection_id} .state")
    assert t("replayed") in state
    assert f"#{conversion_pk}" in state
    other = Translator("en" if language == "zh" else "zh", LABELS)
    assert other("replay_all") not in await page.inner_text("body")
    await page.screenshot(
        path=screenshot_dir / f"rejections-replayed-{language}.png", full_page=True
    )

    assert dialogs == []
    assert foreign(page.requests, live_server) == []
    assert page.console_errors == []
