"""The LLM fallback against a local fake OpenAI-compatible endpoint: what it is told, how its
answers are read, how failures surface, and that its SQL only runs once guarded."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import asyncpg
import pytest
from pydantic import ValidationError

from postback.nlq import llm
from postback.nlq.guard import UnsafeQuery, guard
from postback.nlq.repository import run
from postback.settings import Settings
from tests.nlq.fake_llm import FakeLlm, Reply, fake_llm, fake_llm_server, sql_block
from tests.nlq.safety import fingerprint, seed_two_partners

__all__ = ["fake_llm", "fake_llm_server"]

NOW = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)  # 10:30 in Kuala Lumpur
ZONE = "Asia/Kuala_Lumpur"


def llm_settings(url: str, **extra: object) -> Settings:
    values: dict[str, object] = {"NLQ_LLM_BASE_URL": url, "NLQ_LLM_MODEL": "test-model"}
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


async def ask(settings: Settings, question: str = "how many conversions?") -> str:
    return await llm.generate_sql(question, language="en", settings=settings, now=NOW, zone=ZONE)


def test_enabled_only_with_a_base_url() -> None:
    assert not llm.enabled(Settings())
    assert llm.enabled(llm_settings("http://127.0.0.1:11434/v1/"))
    assert llm_settings("http://127.0.0.1:11434/v1/").nlq_llm_base_url == (
        "http://127.0.0.1:11434/v1"
    )


@pytest.mark.parametrize("url", ["ftp://x/v1", "localhost:11434", "not a url"])
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValidationError, match="NLQ_LLM_BASE_URL"):
        llm_settings(url)


async def test_asks_with_the_views_timezone_and_today(fake_llm: FakeLlm) -> None:
    fake_llm.reply_with(sql_block("SELECT count(*) FROM reporting.conversions"))
    sql = await ask(llm_settings(fake_llm.url), "多少转化？")
    assert sql == "SELECT count(*) FROM reporting.conversions"
    (request,) = fake_llm.requests
    assert request["model"] == "test-model"
    assert request["temperature"] == 0
    system, user = request["messages"]
    assert system["role"] == "system"
    assert user == {"role": "user", "content": "多少转化？"}
    prompt = system["content"]
    for expected in (
        "reporting.conversions",
        "reporting.rejections",
        "myr_payout",
        "NOT is_duplicate",
        "Asia/Kuala_Lumpur",
        "2026-11-25",
        "2026-11-25T10:30:00+08:00",
        "Wednesday",
        "CANNOT_ANSWER",
    ):
        assert expected in prompt
    for hidden in ("raw", "source_ip", "receipt_id", "api_key_hash", "public", "tenant"):
        assert not re.search(rf"\b{hidden}\b", prompt), hidden
    assert "authorization" not in fake_llm.headers[0]


async def test_sends_the_api_key(fake_llm: FakeLlm) -> None:
    fake_llm.reply_with("SELECT 1")
    await ask(llm_settings(fake_llm.url, NLQ_LLM_API_KEY="sk-test-123"))
    assert fake_llm.headers[0]["authorization"] == "Bearer sk-test-123"


@pytest.mark.parametrize(
    ("content", "sql"),
    [
        ("SELECT 1", "SELECT 1"),
        ("  SELECT 1\n", "SELECT 1"),
        ("```sql\nSELECT 2\n```", "SELECT 2"),
        ("```\nSELECT 3\n```", "SELECT 3"),
        ("```SQL\nSELECT 4;\n```\nThis counts rows.", "SELECT 4;"),
        ("Sure!\n```postgresql\nSELECT 5\n```\n```sql\nSELECT 6\n```", "SELECT 5"),
    ],
)
async def test_reads_the_sql_out_of_the_answer(fake_llm: FakeLlm, content: str, sql: str) -> None:
    fake_llm.reply_with(content)
    assert await ask(llm_settings(fake_llm.url)) == sql


@pytest.mark.parametrize(
    "content", ["CANNOT_ANSWER", "cannot_answer.", "```\nCANNOT_ANSWER\n```", ""]
)
async def test_the_model_can_decline(fake_llm: FakeLlm, content: str) -> None:
    fake_llm.reply_with(content)
    with pytest.raises(llm.LlmDeclined):
        await ask(llm_settings(fake_llm.url))


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(status=500), "HTTP 500"),
        (Reply(status=401), "HTTP 401"),
        (Reply(raw_body="not json"), "not a chat completion"),
        (Reply(raw_body='{"choices": []}'), "not a chat completion"),
        (Reply(raw_body='{"choices": [{"message": {"content": null}}]}'), "no text"),
        (Reply("SELECT 1", delay=1.5), "did not answer within 0.5 s"),
    ],
)
async def test_failures_are_unavailable(fake_llm: FakeLlm, reply: Reply, reason: str) -> None:
    fake_llm.reply_with(reply)
    with pytest.raises(llm.LlmUnavailable, match=reason):
        await ask(llm_settings(fake_llm.url, NLQ_LLM_TIMEOUT=0.5))


async def test_unreachable_is_unavailable() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed.
    with pytest.raises(llm.LlmUnavailable, match="could not be reached"):
        await ask(llm_settings(f"http://127.0.0.1:{port}/v1"))


async def test_not_configured_is_unavailable() -> None:
    with pytest.raises(llm.LlmUnavailable, match="NLQ_LLM_BASE_URL"):
        await ask(Settings())


async def test_its_sql_runs_only_guarded_and_scoped(
    fake_llm: FakeLlm, db: asyncpg.Connection
) -> None:
    partners = await seed_two_partners(db)
    before = await fingerprint(db)
    settings = llm_settings(fake_llm.url)

    fake_llm.reply_with(sql_block("DELETE FROM conversion"))
    with pytest.raises(UnsafeQuery):
        guard(await ask(settings), tenant_id=partners.mine)

    fake_llm.reply_with(
        sql_block(
            "SELECT partner, sum(myr_payout) AS payout FROM reporting.conversions "
            "WHERE partner = 'other' AND NOT is_duplicate GROUP BY partner"
        )
    )
    _, rows = await run(db, guard(await ask(settings), tenant_id=partners.mine))
    assert rows == []
    assert await fingerprint(db) == before
