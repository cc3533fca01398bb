"""The home page and the API docs in a real headless Chromium, offline: every request stays on
the app's own host and the browser console shows no error."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest


@pytest.fixture
async def page(browser, live_server):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
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
    yield page
    await context.close()


def foreign(requests: list[str], base: str) -> list[str]:
    host = urlsplit(base).netloc
    return [
        url
        for url in requests
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != host
    ]


async def test_home_page_links_everything(page, live_server, screenshot_dir):
    await page.goto(live_server + "/")
    assert await page.title() == "Postback"
    links = await page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")
    assert {"/docs", "/redoc", "/health", "/info", "/postback/stats"} <= set(links)
    assert "接口文档" in await page.content()
    await page.screenshot(path=screenshot_dir / "home.png", full_page=True)
    assert foreign(page.requests, live_server) == []
    assert page.console_errors == []


async def test_swagger_ui_renders_offline(page, live_server, screenshot_dir):
    await page.goto(live_server + "/docs")
    await page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "Postback" in await page.inner_text(".swagger-ui .info .title")
    await page.wait_for_selector(
        '.opblock-summary-path[data-path="/postback/conversions"]', timeout=15_000
    )
    await page.wait_for_selector('.opblock-summary-path[data-path="/postback/"]')
    await page.screenshot(path=screenshot_dir / "docs.png")
    assert foreign(page.requests, live_server) == []
    assert page.console_errors == []


async def test_redoc_renders_offline(page, live_server, screenshot_dir):
    await page.goto(live_server + "/redoc")
    await page.wait_for_selector("h1:has-text('Postback')", timeout=20_000)
    await page.wait_for_selector(
        "h2:has-text('Receive a conversion postback (GET)')", timeout=20_000
    )
    await page.screenshot(path=screenshot_dir / "redoc.png")
    assert foreign(page.requests, live_server) == []
    assert page.console_errors == []
