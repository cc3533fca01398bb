"""What the rollup triggers cost the write path: `repository.write_conversions` timed on
batches of 20 and 200 rows (10% duplicates of earlier conversions) with the triggers on and
off, interleaved round by round so both see the same machine. Reports the ratio of medians.

    python -m postback_bench.trigger_cost --database-url postgresql://postgres@127.0.0.1/postgres

It creates (and drops) its own database on that server.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from postback import migrate
from postback.db import asyncpg_url
from postback.ingest import repository
from postback.ingest.schemas import ConversionRow
from postback.ingest.service import new_receipt_id
from postback_bench.database import create_database, drop_database

TRIGGERS = ("conversion_hourly_insert", "conversion_hourly_update", "conversion_hourly_delete")


def _row(rng: random.Random, conversion_id: str, now: datetime) -> tuple[Any, ...]:
    amount = Decimal(rng.randrange(100, 100_000)) / 100
    status = rng.choice(("pending", "approved", "rejected"))
    return (
        new_receipt_id(),
        1,
        conversion_id,
        str(rng.randrange(1000, 1020)),
        "Offer",
        now - timedelta(minutes=rng.randrange(0, 3000)),
        None,
        None,
        amount,
        amount,
        amount,
        amount / 20,
        amount / 20,
        amount / 20,
        rng.choice(("MYR", "IDR", "USD")),
        status,
        status,
        *([None] * 9),
        "{}",
        now,
        "198.51.100.1",
        True,
    )


async def measure(url: str, sizes: list[int], rounds: int, batches: int) -> dict[int, float]:
    conn = await asyncpg.connect(url)
    rng = random.Random(7)  # noqa: S311 (test data, not secrets)
    now = datetime.now(UTC)
    stored: list[str] = []
    ratios = {}
    try:
        for size in sizes:
            timings: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(rounds):
                for enabled in (True, False):
                    verb = "ENABLE" if enabled else "DISABLE"
                    for trigger in TRIGGERS:
                        await conn.execute(f"ALTER TABLE conversion {verb} TRIGGER {trigger}")
                    for _ in range(batches):
                        rows: list[ConversionRow] = []
                        for _ in range(size):
                            if stored and rng.random() < 0.1:
                                rows.append(ConversionRow._make(_row(rng, rng.choice(stored), now)))
                            else:
                                conversion_id = uuid.uuid4().hex
                                stored.append(conversion_id)
                                rows.append(ConversionRow._make(_row(rng, conversion_id, now)))
                        started = time.perf_counter()
                        await repository.write_conversions(conn, rows)
                        timings[enabled].append(time.perf_counter() - started)
            on, off = statistics.median(timings[True]), statistics.median(timings[False])
            ratios[size] = on / off
            print(
                f"batch {size:4}: median {on * 1000:.2f} ms with triggers,"
                f" {off * 1000:.2f} ms without; ratio {on / off:.2f}"
            )
    finally:
        for trigger in TRIGGERS:
            await conn.execute(f"ALTER TABLE conversion ENABLE TRIGGER {trigger}")
        await conn.close()
    return ratios


async def main(server: str, rounds: int, batches: int) -> None:
    name = f"postback_trigger_cost_{uuid.uuid4().hex[:8]}"
    url = await create_database(server, name)
    try:
        await migrate.upgrade(url)
        await measure(url, [20, 200], rounds, batches)
    finally:
        await drop_database(server, name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a server to create a database on")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batches", type=int, default=20, help="batches per round and setting")
    args = parser.parse_args()
    asyncio.run(main(asyncpg_url(args.database_url), args.rounds, args.batches))
