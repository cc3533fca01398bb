"""The rollup tables are always locked deltas first, then the hourly rollup, then the daily one.

A TRUNCATE of `conversion` (its trigger empties both rollup tables) running while the
compaction folds deltas deadlocked when the two took the tables in opposite orders. Each test
holds `conversion_hourly` from a third connection, lets the operation under test block on it,
and checks that by then it already holds `conversion_hourly_delta`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from postback.app import PostbackApp
from postback.rollups import repository as rollups

LOCKS = """
SELECT c.relname, l.mode, l.granted
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = $1
    AND c.relname IN ('conversion_hourly', 'conversion_hourly_delta', 'conversion_daily')
"""


async def locks_once_blocked(blocker: asyncpg.Connection, pid: int) -> dict[str, tuple[str, bool]]:
    """The rollup-table locks of backend `pid`, once it waits for one of them."""
    for _ in range(500):
        held = {r["relname"]: (r["mode"], r["granted"]) for r in await blocker.fetch(LOCKS, pid)}
        if any(not granted for _, granted in held.values()):
            return held
        await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited on a rollup table: {held}")


async def locks_while_blocked(
    blocker: asyncpg.Connection,
    subject: asyncpg.Connection,
    lock: str,
    run: Callable[[], Awaitable[object]],
) -> dict[str, tuple[str, bool]]:
    """Run `run` on `subject` while `blocker` holds `lock` (a LOCK TABLE statement); the
    rollup-table locks `subject` held once it waited, after letting it finish."""
    async with blocker.transaction():
        await blocker.execute(lock)
        task = asyncio.create_task(run())
        held = await locks_once_blocked(blocker, subject.get_server_pid())
    await asyncio.wait_for(task, 30)
    return held


@pytest.fixture
async def connections(
    app: PostbackApp, database_url: str
) -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Connection]]:
    """Two plain connections to the database `app` has migrated."""
    blocker = await asyncpg.connect(database_url)
    subject = await asyncpg.connect(database_url)
    yield blocker, subject
    await subject.close()
    await blocker.close()


async def test_truncate_takes_the_deltas_before_the_rollup(
    connections: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    blocker, subject = connections
    held = await locks_while_blocked(
        blocker,
        subject,
        "LOCK TABLE conversion_hourly IN ROW EXCLUSIVE MODE",
        lambda: subject.execute("TRUNCATE conversion CASCADE"),
    )
    assert held.get("conversion_hourly") == ("AccessExclusiveLock", False)
    assert held.get("conversion_hourly_delta") == ("AccessExclusiveLock", True)


async def test_compaction_takes_the_deltas_before_the_rollup(
    connections: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    blocker, subject = connections
    # Past the first few runs PostgreSQL may switch to a cached plan; its lock order counts.
    for _ in range(7):
        await subject.fetchrow(rollups.COMPACT)
    held = await locks_while_blocked(
        blocker,
        subject,
        "LOCK TABLE conversion_hourly IN SHARE MODE",
        lambda: subject.fetchrow(rollups.COMPACT),
    )
    assert held.get("conversion_hourly") == ("RowExclusiveLock", False)
    assert held.get("conversion_hourly_delta") == ("RowExclusiveLock", True)


async def test_truncate_takes_the_hourly_rollup_before_the_daily(
    connections: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    blocker, subject = connections
    held = await locks_while_blocked(
        blocker,
        subject,
        "LOCK TABLE conversion_daily IN ROW EXCLUSIVE MODE",
        lambda: subject.execute("TRUNCATE conversion CASCADE"),
    )
    assert held.get("conversion_daily") == ("AccessExclusiveLock", False)
    assert held.get("conversion_hourly") == ("AccessExclusiveLock", True)


async def test_compaction_takes_the_hourly_rollup_before_the_daily(
    connections: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    blocker, subject = connections
    await subject.execute(
        "INSERT INTO conversion_daily_zone (zone) VALUES ('Asia/Kuala_Lumpur')"
        " ON CONFLICT DO NOTHING"
    )
    for _ in range(7):
        await subject.fetchrow(rollups.COMPACT)
    held = await locks_while_blocked(
        blocker,
        subject,
        "LOCK TABLE conversion_daily IN SHARE MODE",
        lambda: subject.fetchrow(rollups.COMPACT),
    )
    assert held.get("conversion_daily") == ("RowExclusiveLock", False)
    assert held.get("conversion_hourly") == ("RowExclusiveLock", True)


async def test_building_a_zone_takes_the_hourly_rollup_before_the_daily(
    connections: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    blocker, subject = connections
    build = rollups.BUILD_ZONE.replace("CAST(:zone AS text)", "$1").replace(":zone", "$1")
    zone = "Europe/Lisbon"  # built here only, and dropped again
    held = await locks_while_blocked(
        blocker,
        subject,
        "LOCK TABLE conversion_daily IN SHARE MODE",
        lambda: subject.execute(build, zone),
    )
    await subject.execute("DELETE FROM conversion_daily WHERE zone = $1", zone)
    await subject.execute("DELETE FROM conversion_daily_zone WHERE zone = $1", zone)
    assert held.get("conversion_daily") == ("RowExclusiveLock", False)
    assert held.get("conversion_hourly") == ("AccessShareLock", True)
