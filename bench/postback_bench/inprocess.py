"""The service's own CPU per postback, without HTTP: the app called in-process by concurrent
callers, storing into a real PostgreSQL. Reports postbacks per second, this process's CPU per
postback and the database backends' CPU per row, with the group commit's batch sizes.

    python -m postback_bench.inprocess --database-url postgresql://postgres@127.0.0.1/postgres

It creates (and drops) its own database on that server. Without HTTP the figures leave out
uvicorn and the sockets (see `postback-bench run --stages` for the split under the real server);
they isolate parsing, validation, row building, the group commit and the driver, and move
little from run to run, so a change to that code can be compared before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import quote

import asyncpg
import psutil
from asgi_lifespan import LifespanManager

from postback.app import create_app
from postback.db import asyncpg_url
from postback.metrics import BATCH_SIZE
from postback.settings import Settings
from postback_bench import monitor
from postback_bench.database import (
    backend_pids,
    create_database,
    create_partners,
    drop_database,
)

OFFERS = (("3456", "Shopee MY", "MYR"), ("7788", "Lazada MY", "MYR"), ("5521", "Shopee SG", "SGD"))


@dataclass(frozen=True, slots=True)
class Result:
    postbacks: int
    ok: int
    seconds: float
    cpu_seconds: float
    database_cpu_seconds: float | None
    batches: float
    batch_rows: float

    def line(self) -> str:
        database = (
            f"{1e6 * self.database_cpu_seconds / self.postbacks:.0f} µs"
            if self.database_cpu_seconds is not None
            else "not visible"
        )
        size = self.batch_rows / self.batches if self.batches else 0.0
        return (
            f"{self.ok:,} of {self.postbacks:,} answered 200 in {self.seconds:.1f} s "
            f"({self.postbacks / self.seconds:,.0f}/s); this process "
            f"{1e6 * self.cpu_seconds / self.postbacks:.0f} µs of CPU per postback; "
            f"database backends {database} per row; {self.batches:,.0f} batches of "
            f"{size:.1f} rows"
        )


def queries(count: int, tokens: list[str], seed: int = 1) -> list[bytes]:
    """Query strings shaped like the network's: escaped values, separators, unfilled macros."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    run = uuid.uuid4().hex[:8]
    out = []
    for i in range(count):
        offer_id, name, currency = rng.choice(OFFERS)
        sale = rng.randint(500, 250_000) / 100
        fields = {
            "offer_id": offer_id,
            "offer_name": name,
            "sale_amount_local": f"{sale:.2f}",
            "myr_sale_amount": f"{sale:,.2f}",
            "usd_sale_amount": f"{sale * 0.2237:.2f}",
            "payout_local": f"{sale * 0.05:.2f}",
            "myr_payout": f"{sale * 0.05:.2f}",
            "usd_payout": f"{sale * 0.011:.2f}",
            "conversion_currency": currency,
            "datetime_conversion": f"2026-11-{rng.randint(1, 28):02d} 10:11:12",
            "aff_sub": f"fb-ads-{rng.randint(1, 40)}",
            "aff_sub2": "{aff_sub2}",
            "adv_sub": "{adv_sub}",
            "conversion_id": f"ip-{run}-{i}",
            "ts_token": tokens[i % len(tokens)],
            "status": "pending",
        }
        out.append("&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items()).encode())
    return out


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class _Answer:
    status = 0

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]


def _histogram(metric: Any) -> tuple[float, float]:
    family = next(iter(metric.collect()))
    samples = {s.name: s.value for s in family.samples}
    return samples[f"{family.name}_sum"], samples[f"{family.name}_count"]


async def measure(url: str, count: int, callers: int, home: Path) -> Result:
    """Send `count` postbacks through the app at `url`'s database with `callers` at once."""
    partners = await create_partners(url, uuid.uuid4().hex[:6], 4)
    settings = Settings(
        DATABASE_URL=url,
        POSTBACK_HOME=str(home),
        POSTBACK_ADMIN_TOKEN="x" * 32,
        LOG_LEVEL="WARNING",
    )
    app = create_app(settings)
    pending = iter(queries(count, [p.ts_token for p in partners]))
    ok = 0

    async def caller() -> None:
        nonlocal ok
        for query in pending:
            scope = {
                "type": "http",
                "method": "GET",
                "path": "/postback/",
                "query_string": query,
                "headers": [],
                "client": ("127.0.0.1", 1),
            }
            answer = _Answer()
            await app(scope, _receive, answer.send)
            ok += answer.status == 200

    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        conn = await asyncpg.connect(asyncpg_url(url))
        try:
            pids = await backend_pids(conn)
        finally:
            await conn.close()
        # Another machine's server: its backends are not ours to read.
        local = bool(pids) and all(psutil.pid_exists(pid) for pid in pids)
        database_before = sum(map(monitor.cpu_seconds, pids))
        rows_before, batches_before = _histogram(BATCH_SIZE)
        cpu_before, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_before
        rows_after, batches_after = _histogram(BATCH_SIZE)
        database = sum(map(monitor.cpu_seconds, pids)) - database_before if local else None
    return Result(
        count, ok, seconds, cpu, database, batches_after - batches_before, rows_after - rows_before
    )


async def _main(server: str, count: int, callers: int, rounds: int) -> None:
    name = f"postback_inprocess_{uuid.uuid4().hex[:8]}"
    url = await create_database(server, name)
    try:
        with TemporaryDirectory() as home:
            for _ in range(rounds):
                result = await measure(url, count, callers, Path(home))
                print(result.line())
    finally:
        await drop_database(server, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="server to create a database on")
    parser.add_argument("--postbacks", type=int, default=20_000)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import uvloop

    uvloop.run(_main(args.database_url, args.postbacks, args.callers, args.rounds))


if __name__ == "__main__":
    main()
