"""The dashboard in a real headless Chromium, in English and in Chinese: the admin signs in,
changes the range and the partner and sees the figures /postback/stats gives for the same
range; a postback sent meanwhile appears in the live feed; a table downloads as CSV; a partner
signs in with its API key and sees only its own data, also at phone width. No console error,
no request to any host but the app."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from postback.dashboard.labels import LABELS
from postback.web.labels import Translator
from tests.factories import create_tenant, postback
from tests.fixtures import ADMIN_TOKEN
from tests.web.test_browser import foreign

LOCALES = {"en": "en-US", "zh": "zh-CN"}
KPI_TOTALS = ("conversions", "rejections", "sales_usd", "sales_myr", "payouts_usd", "payouts_myr")


@pytest.fixture
async def context(browser, live_server, request):
    language = request.param
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=LOCALES[language], accept_downloads=True
    )
    context.language = language
    yield context
    await context.close()


def watch(page: Any) -> Any:
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


async def loaded(page: Any, before: str | None) -> str:
    """Wait until the page has drawn a new set of figures; its load counter."""
    await page.wait_for_function(
        "prev => document.body.dataset.state === 'ready' && document.body.dataset.loaded !== prev",
        arg=before,
    )
    return str(await page.evaluate("document.body.dataset.loaded"))


async def page_figures(page: Any) -> dict[str, str]:
    return {
        key: await page.get_attribute(f"[data-kpi={key}] .value", "data-value")
        for key in KPI_TOTALS
    }


async def stats_for(network: httpx.AsyncClient, base: str, token: str, **params: str) -> dict:
    """/postback/stats for the range the dashboard shows with these parameters."""
    headers = {"Authorization": f"Bearer {token}"}
    kpis = await network.get(base + "/dashboard/api/kpis", params=params, headers=headers)
    window = {k: kpis.json()["range"][k] for k in ("since", "until")}
    if "tenant" in params:
        window["tenant"] = params["tenant"]
    stats = await network.get(base + "/postback/stats", params=window, headers=headers)
    assert stats.status_code == 200, stats.text
    totals = stats.json()["totals"]
    return {key: str(totals[key]) for key in KPI_TOTALS}


async def send(network: httpx.AsyncClient, base: str, conversion_id: str, **fields: Any) -> None:
    response = await network.get(base + "/postback/", params=postback(conversion_id, **fields))
    assert response.status_code == 200, response.text


def minutes_ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_dashboard_in_a_browser(context, live_server, screenshot_dir, app, db):
    language = context.language
    t = Translator(language, LABELS)
    acme = await create_tenant(app, "acme", name="Acme 商城", ts_token="tok-acme")
    await create_tenant(app, "globex", name="Globex", ts_token="tok-globex")
    async with httpx.AsyncClient() as network:
        for n, (token, status, when) in enumerate(
            [
                ("tok-acme", "approved", minutes_ago(5)),
                ("tok-acme", "pending", minutes_ago(3)),
                ("tok-acme", "rejected", days_ago(3)),
                ("tok-globex", "paid", minutes_ago(4)),
                ("tok-globex", "approved", days_ago(5)),
            ]
        ):
            await send(
                network,
                live_server,
                f"B-{language}-{n}",
                ts_token=token,
                status=status,
                datetime_conversion=when,
                usd_sale_amount=f"{10 + n}.25",
            )
        bad = await network.get(live_server + "/postback/", params={"usd_payout": "x"})
        assert bad.status_code == 422

        # The admin signs in to the admin pages, then opens the dashboard from the nav.
        page = watch(await context.new_page())
        await page.goto(live_server + "/admin/login")
        await page.fill("#token", ADMIN_TOKEN)
        await page.click("form[action='/admin/login'] button[type=submit]")
        await page.wait_for_url(live_server + "/admin")
        await page.click(f"nav.main-nav a:has-text('{t('dashboard')}')")
        count = await loaded(page, None)
        assert await page.get_attribute("html", "lang") == ("zh-CN" if language == "zh" else "en")
        for key in ("over_time", "by_status", "by_currency", "top_offers", "partners"):
            assert t(key) in await page.inner_text("main"), key
        assert await page.inner_text("[data-kpi=conversions] h3") == t("conversions")
        assert await page_figures(page) == await stats_for(
            network, live_server, ADMIN_TOKEN, range="today"
        )
        assert await page.get_attribute("[data-kpi=conversions] .value", "data-value") == "3"

        # Another range.
        await page.click(f"label.chip:has-text('{t('last_7_days')}')")
        count = await loaded(page, count)
        figures = await page_figures(page)
        assert figures == await stats_for(network, live_server, ADMIN_TOKEN, range="7d")
        assert figures["conversions"] == "5"
        partners_table = await page.inner_text("#table-partners")
        assert "acme" in partners_table
        assert "globex" in partners_table
        await page.screenshot(
            path=screenshot_dir / f"dashboard-admin-{language}.png", full_page=True
        )

        # One partner.
        await page.select_option("#tenant", "acme")
        count = await loaded(page, count)
        figures = await page_figures(page)
        assert figures == await stats_for(
            network, live_server, ADMIN_TOKEN, range="7d", tenant="acme"
        )
        assert figures["conversions"] == "3"
        assert "globex" not in await page.inner_text("#table-partners")

        # A postback sent now appears in the live feed.
        live_id = f"LIVE-{language}-{datetime.now(UTC):%H%M%S%f}"
        await page.wait_for_selector("#feed-state.live")
        await send(
            network, live_server, live_id, ts_token="tok-acme", datetime_conversion=minutes_ago(0)
        )
        await page.wait_for_selector(f"#feed tbody tr:has-text('{live_id}')", timeout=15_000)

        # A table as CSV, headed in the page's language.
        async with page.expect_download() as download_info:
            await page.click("a[data-export=status][data-format=csv]")
        download = await download_info.value
        content = (await download.path()).read_bytes().decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(content)))
        assert rows[0][:2] == [t("status"), t("conversions")]
        assert sorted((r[0], r[1]) for r in rows[1:]) == [
            ("approved", "1"),
            ("pending", "2"),
            ("rejected", "1"),
        ]

        assert foreign(page.requests, live_server) == []
        assert page.console_errors == []

        # The partner, with its API key: its own data only, no partner picker.
        partner = watch(await context.new_page())
        await context.clear_cookies()
        await partner.goto(live_server + "/dashboard")
        assert await partner.inner_text("h1") == t("sign_in_title")
        await partner.screenshot(path=screenshot_dir / f"dashboard-login-{language}.png")
        await partner.fill("#api_key", acme.secrets["api_key"])
        await partner.click("form[action='/dashboard/login'] button[type=submit]")
        count = await loaded(partner, None)
        assert await partner.query_selector("#tenant") is None
        assert await partner.query_selector("#table-partners") is None
        await partner.click(f"label.chip:has-text('{t('last_30_days')}')")
        count = await loaded(partner, count)
        figures = await page_figures(partner)
        assert figures == await stats_for(
            network, live_server, acme.secrets["api_key"], range="30d"
        )
        assert figures["conversions"] == "4"
        assert "B-" + language + "-3" not in await partner.inner_text("#feed")
        await partner.set_viewport_size({"width": 390, "height": 844})
        await partner.wait_for_timeout(300)  # the charts follow the resize
        width = await partner.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the page scrolls sideways at phone width"
        await partner.screenshot(
            path=screenshot_dir / f"dashboard-phone-{language}.png", full_page=True
        )
        assert foreign(partner.requests, live_server) == []
        assert partner.console_errors == []
