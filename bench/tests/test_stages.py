"""`postback-bench run --stages`: the service with storage taken out, and the table it feeds."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from postback.app import PostbackApp
from postback_bench import report
from postback_bench.monitor import CpuShare
from postback_bench.runner import BenchOptions, BenchResult, Phase
from postback_bench.stages import without_storage
from postback_bench.traffic import LoadResult
from tests.fixtures import make_settings


async def test_without_storage_answers_every_postback_and_keeps_none(
    app: PostbackApp, db: asyncpg.Connection, database_url: str, tmp_path
):
    instrument = without_storage(make_settings(database_url, tmp_path))
    async with LifespanManager(instrument, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=instrument, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            stored = await http.get(
                "/postback/", params={"conversion_id": "st-1", "sale_amount_local": "1,250.00"}
            )
            refused = await http.get(
                "/postback/", params={"conversion_id": "st-2", "sale_amount_local": "lots"}
            )
    assert stored.status_code == 200
    assert stored.json()["conversion_id"] == "st-1"
    assert refused.status_code == 422  # validation still runs
    assert refused.json()["errors"][0]["field"] == "sale_amount_local"
    assert await db.fetchval("SELECT count(*) FROM conversion") == 0
    assert await db.fetchval("SELECT count(*) FROM rejection") == 0


def _phase(answered: int, seconds: float, server_cores: float) -> Phase:
    load = LoadResult(sent=answered, answered=answered, ok=answered, first_sent=0.0)
    load.last_answer = seconds
    cpu = CpuShare(server_cores, None, 0.5, 0.0, 0.0)
    return Phase(load, cpu, peak_rss=0, end_rss=0)


def test_the_stages_table_splits_server_cpu_per_answer():
    ceiling = _phase(100_000, 10.0, 1.0)  # 10,000/s on one core: 100 µs each
    without = _phase(40_000, 10.0, 1.0)  # 250 µs each
    stored = _phase(20_000, 10.0, 0.8)  # 400 µs each
    result = BenchResult(
        options=BenchOptions(stages=True),
        started_at=datetime.now(UTC),
        machine={},
        database="embedded",
        ceiling=ceiling,
        postback=stored,
        all_postbacks=stored.load,
        stored=None,  # type: ignore[arg-type]
        without_storage=without,
    )
    rows = report.stages_table(result)
    assert [row[3] for row in rows] == [
        "100 µs (1.00 cores)",
        "250 µs (1.00 cores)",
        "400 µs (0.80 cores)",
        "+150 µs",
        "+150 µs",
    ]
    assert [row[2] for row in rows[:3]] == ["100.0%", "40.0%", "20.0%"]
