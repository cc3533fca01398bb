"""`python -m postback_bench.inprocess`: the app driven in-process stores what it answers."""

from __future__ import annotations

import asyncpg

from postback.app import PostbackApp
from postback_bench.inprocess import measure, queries


def test_generated_postbacks_are_escaped_and_carry_each_partner_token():
    sent = queries(8, ["tok-a", "tok-b"])
    assert len(set(sent)) == 8
    assert all(b"datetime_conversion=2026-11-" in q and b"%20" in q for q in sent)
    assert sum(b"ts_token=tok-a" in q for q in sent) == 4


async def test_measure_answers_and_stores_every_postback(
    app: PostbackApp, db: asyncpg.Connection, database_url: str, tmp_path
):
    result = await measure(database_url, 300, 8, tmp_path)
    assert result.ok == result.postbacks == 300
    assert result.batch_rows == 300
    assert result.batches >= 1
    assert result.cpu_seconds > 0
    stored = await db.fetchval("SELECT count(*) FROM conversion WHERE conversion_id LIKE 'ip-%'")
    assert stored == 300
    assert "300 of 300 answered 200" in result.line()
