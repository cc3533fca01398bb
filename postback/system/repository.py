"""All SQL of the system domain: the database's reachability and the tables' sizes."""

from __future__ import annotations

import asyncpg

TABLES = ("tenant", "conversion", "rejection")


PING_SECONDS = 3.0


async def ping(pool: asyncpg.Pool) -> None:
    """Raises when the database cannot answer a trivial query within PING_SECONDS."""
    async with pool.acquire(timeout=PING_SECONDS) as conn:
        await conn.fetchval("SELECT 1", timeout=PING_SECONDS)


async def estimated_rows(conn: asyncpg.Connection, table: str) -> int | None:
    """The planner's estimate of a table's rows (None or negative before the first analyze)."""
    value: int | None = await conn.fetchval(
        "SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass", table
    )
    return value


async def counted_rows(conn: asyncpg.Connection, table: str) -> int:
    """A table's rows, counted; `table` is one of TABLES."""
    if table not in TABLES:
        raise ValueError(f"not a table of the service: {table!r}")
    return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608
