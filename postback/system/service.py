"""Health and information about the running service."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from postback import __version__
from postback.forwarding import repository as forwarding
from postback.metrics import DATABASE_UP
from postback.system import repository

STARTED = time.monotonic()
# Above this many rows a table's size is read from the planner's estimate, not counted.
EXACT_COUNT_LIMIT = 100_000


async def database_ok(pool: asyncpg.Pool) -> bool:
    try:
        await repository.ping(pool)
    except Exception:
        DATABASE_UP.set(0)
        return False
    DATABASE_UP.set(1)
    return True


async def row_counts(pool: asyncpg.Pool) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    async with pool.acquire(timeout=3) as conn:
        for table in repository.TABLES:
            estimate = await repository.estimated_rows(conn, table)
            if estimate is not None and estimate >= EXACT_COUNT_LIMIT:
                counts[table] = {"rows": int(estimate), "approximate": True}
            else:
                exact = await repository.counted_rows(conn, table)
                counts[table] = {"rows": exact, "approximate": False}
    return counts


def uptime_seconds() -> float:
    return round(time.monotonic() - STARTED, 1)


def version() -> str:
    return __version__


async def delivery_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return await forwarding.queue_counts(conn)
