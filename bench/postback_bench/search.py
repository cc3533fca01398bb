"""`postback-bench search`: search latency of `GET /postback/conversions` on the dashboard
benchmark's data set (10 million conversions, loaded once and kept: postback_bench.dashboard).

Each sample asks for a different value (drawn from the rows the loader made), so no answer is
served twice from the same pages by luck; every request goes through the ASGI app in-process
(httpx, no network), one after another, and answers the first page (50 rows) and the total.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

from postback_bench.dashboard import Timing, database, prepare

ADMIN_TOKEN = "search-bench-admin-token-0123456789"  # noqa: S105 (its own app)


@dataclass(frozen=True, slots=True)
class Case:
    """One kind of search: its name, who asks, and the filters of sample `n` of `rows`."""

    name: str
    who: str
    params: Callable[[random.Random, int], dict[str, str]]


def _row(pick: random.Random, rows: int) -> int:
    return pick.randrange(1001, rows)


CASES = (
    Case("conversion_id", "admin", lambda p, r: {"conversion_id": f"D{_row(p, r)}"}),
    Case("conversion_id", "partner", lambda p, r: {"conversion_id": f"D{_row(p, r)}"}),
    Case("order_id", "admin", lambda p, r: {"order_id": f"2612{_row(p, r):010d}"}),
    Case("aff_sub (~100 rows)", "admin", lambda p, r: {"aff_sub": f"aff-{p.randrange(100000)}"}),
    # D12345 finds D12345, D123450..D123459, D1234500..D1234599 (and more on larger sets).
    Case("q prefix (~111 rows)", "admin", lambda p, r: {"q": f"D{p.randrange(10000, 99999)}"}),
    Case("q prefix (~111 rows)", "partner", lambda p, r: {"q": f"D{p.randrange(10000, 99999)}"}),
    Case("q prefix (~1,111 rows)", "admin", lambda p, r: {"q": f"D{p.randrange(1000, 9999)}"}),
)


@dataclass(frozen=True, slots=True)
class SearchResult:
    rows: int
    loaded_now: bool
    load_seconds: float
    timings: list[tuple[Case, Timing, float]]  # with the mean rows found
    started: datetime
    command: str
    load_average: tuple[float, float]  # the machine's 5-minute load at the start and the end


async def time_searches(
    url: str, partner_key: str, rows: int, repeat: int, home: Path, say: Callable[[str], None]
) -> list[tuple[Case, Timing, float]]:
    from postback.app import create_app
    from postback.settings import Settings

    settings = Settings(
        DATABASE_URL=url,
        POSTBACK_ADMIN_TOKEN=ADMIN_TOKEN,
        POSTBACK_HOME=str(home),
        LOG_LEVEL="WARNING",
        POSTBACK_CLEANUP_INTERVAL=0,
        POSTBACK_COMPACTION_INTERVAL=0,
    )
    app = create_app(settings)
    headers = {
        "admin": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
        "partner": {"Authorization": f"Bearer {partner_key}"},
    }
    pick = random.Random(18)  # noqa: S311 (values to look up, not secrets)
    results = []
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for case in CASES:
                samples, found = [], 0
                for n in range(repeat + 1):
                    params = case.params(pick, rows)
                    started = time.perf_counter()
                    response = await client.get(
                        "/postback/conversions", params=params, headers=headers[case.who]
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != 200:
                        raise RuntimeError(f"{params} answered {response.status_code}")
                    if n:  # the first is the warm-up
                        samples.append(elapsed)
                        found += response.json()["total"]
                timing = Timing(case.name, "", case.who, samples)
                say(
                    f"  {case.who:7} {case.name:24} p50 {timing.p50:6.2f} ms"
                    f"  p95 {timing.p95:6.2f} ms  max {max(samples):6.2f} ms"
                    f"  (mean {found / repeat:.1f} rows found)"
                )
                results.append((case, timing, found / repeat))
    return results


def run(
    *,
    rows: int,
    repeat: int,
    database_url: str | None,
    home: Path,
    command: str,
    say: Callable[[str], None],
) -> SearchResult:
    started = datetime.now(UTC)
    with database(database_url, home / "bench-dashboard") as url:

        async def go() -> SearchResult:
            loaded_now, load_s, _, _, key = await prepare(
                url, rows, False, database_url is None, say
            )
            say(f"timing {repeat} searches of each kind")
            before = os.getloadavg()[1]
            timings = await time_searches(url, key, rows, repeat, home / "bench-search-app", say)
            load = (before, os.getloadavg()[1])
            return SearchResult(rows, loaded_now, load_s, timings, started, command, load)

        return asyncio.run(go())


def markdown(result: SearchResult) -> str:
    lines = [
        "# Search benchmark",
        "",
        f"Run {result.started:%Y-%m-%d %H:%M} UTC with `{result.command}`.",
        "",
        f"- The dashboard benchmark's data set: {result.rows:,} conversions over 30 days,"
        " 8 partners, about 5% duplicates, each row with a conversion_id (`D<n>`), an order_id,"
        " an adv_sub (a click id) and one of 100,000 aff_subs (bench/postback_bench/dashboard.py)."
        + (
            f" Loaded now in {result.load_seconds:.0f} s, with the search indexes in place."
            if result.loaded_now
            else " (Data set kept from an earlier run.)"
        ),
        "- `GET /postback/conversions` through the ASGI app in-process (httpx, no network), one"
        " request after another, each with a different value drawn from the loaded rows, after"
        " one warm-up; every answer holds the first page (up to 50 rows) and the exact total."
        " The partner is `dash-bench-1` (one of 8), with its own API key.",
        "- The indexes and statistics are migration 0009's (docs/search.md).",
        f"- The machine ({os.cpu_count()} cores) was shared: its 5-minute load average was"
        f" {result.load_average[0]:.1f} at the start and {result.load_average[1]:.1f} at the"
        " end, so these are upper bounds of what the search costs on a quiet machine.",
        "",
        "| who | search | p50 ms | p95 ms | max ms | rows found (mean) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for case, timing, found in result.timings:
        lines.append(
            f"| {case.who} | {case.name} | {timing.p50:.2f} | {timing.p95:.2f} "
            f"| {max(timing.samples):.2f} | {found:.1f} |"
        )
    return "\n".join(lines) + "\n"
