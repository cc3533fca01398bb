"""The /ask page in a real headless Chromium, in English (signed in with the admin token) and
in Chinese (signed in with a partner's API key): example questions, the table equal to the
API's answer, the chart drawn, a question it cannot answer with clickable suggestions, the
history kept across reloads, the language switch. Every request stays on the app's host and
the console shows no error (the page's CSP would report any inline script or style)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from postback.nlq.labels import EXAMPLES, LABELS
from postback.nlq.pages import chip_options
from postback.security import hash_secret
from postback.web.labels import Translator
from postback_bench.nlq import load
from tests.fixtures import ADMIN_TOKEN
from tests.web.test_browser import foreign

LOCALES = {"en": "en-US", "zh": "zh-CN"}
PARTNER_KEY = "pk_browser_partner_key_0123456789abcdef"
# Per language: the example clicked (charted) and a question the engine cannot answer.
CHARTED = {"en": EXAMPLES["en"][1], "zh": EXAMPLES["zh"][2]}
NOT_UNDERSTOOD = {"en": "what is the weather on mars", "zh": "火星上的天气怎么样"}
# Per language: a follow-up of the charted example.
FOLLOW_UP = {"en": "and this week?", "zh": "只看已通过的呢？"}


@pytest.fixture
async def context(browser, live_server, request):
    language = request.param
    context = await browser.new_context(
        viewport={"width": 1360, "height": 900}, locale=LOCALES[language]
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


@pytest.fixture
async def data(db: asyncpg.Connection) -> list[int]:
    """A few thousand conversions over the last 90 days, four partners."""
    zone = ZoneInfo("Asia/Kuala_Lumpur")
    tenant_ids = await load(db, 3000, now=datetime.now(UTC), zone=zone, seed=7)
    await db.execute(
        "UPDATE tenant SET api_key_hash = $1 WHERE id = $2", hash_secret(PARTNER_KEY), tenant_ids[0]
    )
    return tenant_ids


async def api_answer(
    live_server: str, question: str, token: str, conversation: str | None = None
) -> httpx.Response:
    body = {"question": question}
    if conversation is not None:
        body["conversation"] = conversation
    async with httpx.AsyncClient() as client:
        return await client.post(
            live_server + "/api/nlq",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )


def cell_text(value: object) -> str:
    return "" if value is None else str(value)


async def table_cells(page) -> list[list[str]]:
    return await page.eval_on_selector_all(
        "#result tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))",
    )


async def wait_for_answer(page, question: str) -> None:
    try:
        await _wait_for_answer(page, question)
    except Exception:
        problem = await page.inner_text("#problem")
        raise AssertionError(f"no answer: {problem!r} {page.console_errors}") from None


async def _wait_for_answer(page, question: str) -> None:
    await page.wait_for_function(
        "q => !document.getElementById('answer').hidden"
        " && document.getElementById('question').value === q"
        " && !document.getElementById('ask-button').disabled",
        arg=question,
    )


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_ask_in_a_browser(context, page, live_server, screenshot_dir, data):
    language = context.language
    t = Translator(language, LABELS)
    token = ADMIN_TOKEN if language == "en" else PARTNER_KEY

    # Signing in: the browser's language decides the page's.
    await page.goto(live_server + "/ask")
    assert await page.inner_text("h1") == t("sign_in_title")
    assert await page.get_attribute("html", "lang") == ("zh-CN" if language == "zh" else "en")
    await page.screenshot(path=screenshot_dir / f"ask-login-{language}.png")
    await page.fill("#token", token)
    await page.click(f"button:has-text('{t('sign_in')}')")
    await page.wait_for_selector("#ask[data-ready]")
    assert await page.inner_text("h1") == t("heading")
    who = await page.inner_text(".who")
    assert who == (
        t("signed_in_as_admin")
        if language == "en"
        else t("signed_in_as_partner", name="Shopee Hub 合作伙伴")
    )
    for example in EXAMPLES["en"] + EXAMPLES["zh"]:
        assert await page.locator(f"button.chip[data-question='{example}']").count() == 1
    await page.wait_for_selector("#history li")
    assert await page.inner_text("#history") == t("no_history")

    # An example question: the table is the API's answer, the chart is drawn.
    question = CHARTED[language]
    await page.click(f"button.chip[data-question='{question}']")
    await wait_for_answer(page, question)
    expected = await api_answer(live_server, question, token)
    assert expected.status_code == 200, expected.text
    answer = expected.json()
    assert answer["rows"], "the example should have rows on this data"
    assert await table_cells(page) == [[cell_text(v) for v in row] for row in answer["rows"]]
    headers = await page.eval_on_selector_all(
        "#result thead th", "hs => hs.map(h => h.textContent)"
    )
    # The headers in the page's language, with their units.
    assert headers == [
        h if u is None or u in h else (f"{h}（{u}）" if language == "zh" else f"{h} ({u})")
        for h, u in zip(answer["headers"], answer["units"], strict=True)
    ]
    assert len(set(headers)) == len(headers)
    assert await page.inner_text("#interpretation") == answer["interpretation"]
    assert await page.inner_text("#sql") == answer["sql"]
    assert answer["chart"]["type"] in ("bar", "line", "pie")
    await page.wait_for_selector("#chart canvas")
    assert await page.is_visible("#chart-card")
    await page.screenshot(path=screenshot_dir / f"ask-answer-{language}.png", full_page=True)

    # A follow-up, read against the question before: the thread shows both, the table is
    # what the API answers in the same conversation; "new question" starts over.
    follow_up = FOLLOW_UP[language]
    await page.fill("#question", follow_up)
    await page.click("#ask-button")
    await wait_for_answer(page, follow_up)
    await page.wait_for_selector("#thread-card:not([hidden])")
    thread = await page.eval_on_selector_all("#thread li", "items => items.map(i => i.textContent)")
    assert thread == [question, follow_up]
    followed = await api_answer(live_server, follow_up, token, conversation=answer["conversation"])
    assert followed.status_code == 200, followed.text
    assert followed.json()["follow_up"] is True
    assert await table_cells(page) == [
        [cell_text(v) for v in row] for row in followed.json()["rows"]
    ]
    assert await page.inner_text("#interpretation") == followed.json()["interpretation"]
    await page.screenshot(path=screenshot_dir / f"ask-follow-up-{language}.png", full_page=True)
    await page.click("#new-question")
    assert await page.is_hidden("#thread-card")

    # A question it cannot answer: the reason and clickable suggestions, no table.
    await page.fill("#question", NOT_UNDERSTOOD[language])
    await page.click("#ask-button")
    await page.wait_for_selector("#problem:not([hidden])")
    assert await page.inner_text("#problem-title") == t("cannot_answer")
    refused = await api_answer(live_server, NOT_UNDERSTOOD[language], token)
    assert refused.status_code == 422
    assert await page.inner_text("#problem-message") == refused.json()["errors"][0]["message"]
    suggestions = await page.eval_on_selector_all(
        "#suggestions button", "bs => bs.map(b => b.textContent)"
    )
    assert suggestions == refused.json()["suggestions"]
    assert suggestions
    assert await page.is_hidden("#answer")
    await page.screenshot(path=screenshot_dir / f"ask-suggestions-{language}.png", full_page=True)
    await page.click("#suggestions button >> nth=0")
    await page.wait_for_function(
        "q => document.getElementById('question').value === q"
        " && !document.getElementById('ask-button').disabled",
        arg=suggestions[0],
    )

    # The history: newest first, kept across a reload, and a question asked again from it.
    history = await page.eval_on_selector_all("#history button", "bs => bs.map(b => b.textContent)")
    assert history[:4] == [suggestions[0], NOT_UNDERSTOOD[language], follow_up, question]
    await page.reload()
    await page.wait_for_selector("#history button")
    assert (
        await page.eval_on_selector_all("#history button", "bs => bs.map(b => b.textContent)")
        == history
    )
    await page.click(f"#history button[data-question='{question}']")
    await wait_for_answer(page, question)
    assert await table_cells(page) == [[cell_text(v) for v in row] for row in answer["rows"]]
    await page.click("#clear-history")
    assert await page.inner_text("#history") == t("no_history")

    # The switch to the other language, remembered on the next visit.
    other = Translator("en" if language == "zh" else "zh", LABELS)
    await page.click(f"nav.lang a[href$='?lang={other.language}']")
    assert await page.inner_text("h1") == other("heading")
    await page.goto(live_server + "/ask")
    assert await page.inner_text("h1") == other("heading")

    assert foreign(page.requests, live_server) == []
    # Chromium logs every 4xx answer to a fetch; the one 422 above was the expected refusal.
    refusal_logged = "the server responded with a status of 422 (Unprocessable Entity)"
    assert [e for e in page.console_errors if refusal_logged not in e] == []
    assert len(page.console_errors) <= 1


# Per language: a question whose answer has a measure, a breakdown, an amount and a period.
CHIPPED = {"en": "sales by offer this month", "zh": "本月每个offer的销售额"}


async def api_edit(live_server: str, token: str, conversation: str, **edit) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            live_server + "/api/nlq",
            json={"conversation": conversation, "edit": edit},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )


async def wait_for_chip(page, kind: str, value: str) -> None:
    await page.wait_for_function(
        "([kind, value]) => { const s = document.querySelector(`#chips [data-edit=${kind}]`);"
        " return s && s.value === value && !document.getElementById('ask-button').disabled; }",
        arg=[kind, value],
    )


@pytest.mark.parametrize("context", ["en", "zh"], indirect=True)
async def test_the_interpretation_chips_change_the_answer(
    context, page, live_server, screenshot_dir, data
):
    """Each chip changed in the page gives what the API answers for the same edit of the
    same question; an edit the engine cannot answer says why and leaves the answer."""
    language = context.language
    t = Translator(language, LABELS)
    token = ADMIN_TOKEN if language == "en" else PARTNER_KEY
    await page.goto(live_server + "/ask")
    await page.fill("#token", token)
    await page.click(f"button:has-text('{t('sign_in')}')")
    await page.wait_for_selector("#ask[data-ready]")

    question = CHIPPED[language]
    await page.fill("#question", question)
    await page.click("#ask-button")
    await wait_for_answer(page, question)
    asked = await api_answer(live_server, question, token)
    assert asked.status_code == 200, asked.text
    conversation = asked.json()["conversation"]
    assert await page.is_visible("#chips-block")
    assert await page.input_value("#chips [data-edit=measure]") == "sales"
    assert await page.input_value("#chips [data-edit=breakdown]") == "offer"
    assert await page.input_value("#chips [data-edit=unit]") == "myr"
    assert await page.input_value("#chips [data-edit=period]") == "this_month"
    await page.screenshot(path=screenshot_dir / f"ask-chips-{language}.png", full_page=True)

    # Each change: the table and the interpretation are the API's for the same edit.
    for kind, value in [("measure", "payout"), ("period", "last_month"), ("unit", "usd")]:
        await page.select_option(f"#chips [data-edit={kind}]", value)
        await wait_for_chip(page, kind, value)
        expected = await api_edit(live_server, token, conversation, **{kind: value})
        assert expected.status_code == 200, expected.text
        await page.wait_for_function(
            "text => document.getElementById('interpretation').textContent === text",
            arg=expected.json()["interpretation"],
        )
        assert await table_cells(page) == [
            [cell_text(v) for v in row] for row in expected.json()["rows"]
        ]
    thread = await page.eval_on_selector_all("#thread li", "items => items.map(i => i.textContent)")
    measure = next(o["label"] for o in chip_options(language)["measure"] if o["key"] == "payout")
    assert thread[0] == question
    assert thread[1] == t("edited", what=f"{t('chip_measure')} → {measure}")
    assert len(thread) == 4

    # Compared with the month before: both periods' columns, drawn side by side per offer.
    await page.check("#chips [data-edit=compare]")
    expected = await api_edit(live_server, token, conversation, compare=True)
    await page.wait_for_function(
        "text => document.getElementById('interpretation').textContent === text",
        arg=expected.json()["interpretation"],
    )
    assert await table_cells(page) == [
        [cell_text(v) for v in row] for row in expected.json()["rows"]
    ]
    await page.wait_for_selector("#chart canvas")
    await page.screenshot(
        path=screenshot_dir / f"ask-chips-compared-{language}.png", full_page=True
    )

    # By day, while comparing: refused with the engine's reason; the answer stays.
    shown = await table_cells(page)
    await page.select_option("#chips [data-edit=breakdown]", "day")
    await page.wait_for_selector("#chip-problem:not([hidden])")
    refused = await api_edit(live_server, token, conversation, breakdown="day")
    assert refused.status_code == 422
    assert await page.inner_text("#chip-problem") == refused.json()["errors"][0]["message"]
    assert await page.input_value("#chips [data-edit=breakdown]") == "offer"
    assert await table_cells(page) == shown
    assert await page.is_hidden("#problem")

    # A link with the question in it asks it at once.
    await page.goto(live_server + "/ask?" + urlencode({"question": question}))
    await wait_for_answer(page, question)
    assert await page.input_value("#chips [data-edit=measure]") == "sales"

    assert foreign(page.requests, live_server) == []
    refusal_logged = "the server responded with a status of 422 (Unprocessable Entity)"
    assert [e for e in page.console_errors if refusal_logged not in e] == []
