"""The token cache of ingestion: a change made through the API is seen at the next postback,
whatever the cache's lifetime and however long the machine has been up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from postback.security import hash_secret
from postback.tenants import directory as directory_module
from postback.tenants.directory import TenantDirectory


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    yield pool
    await pool.close()


@pytest.mark.parametrize("uptime", [5.0, 600.0, 86_400.0])
async def test_invalidate_forces_a_reload_even_soon_after_boot(db, pool, uptime):
    # time.monotonic() counts from boot: a machine up for minutes reads small values.
    clock = [uptime]
    await db.execute(
        "INSERT INTO tenant (slug, name, ts_token_hash) VALUES ('acme', 'Acme', $1)",
        hash_secret("tok-acme"),
    )
    directory = TenantDirectory(pool, ZoneInfo("UTC"), ttl=3600, clock=lambda: clock[0])
    assert (await directory.resolve({"ts_token": "tok-acme"}, strict=True)).enabled
    await db.execute("UPDATE tenant SET enabled = false WHERE slug = 'acme'")
    clock[0] += 0.1
    directory.invalidate()
    resolved = await directory.resolve({"ts_token": "tok-acme"}, strict=True)
    assert resolved.slug == "acme"
    assert not resolved.enabled, "a cache dropped by invalidate() must not answer"


class SlowFirstRead:
    """directory_rows whose first call reads the table at once but answers only when
    released: a reload overtaken by the table's changes."""

    def __init__(self, real):
        self.real = real
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self, pool):
        self.calls += 1
        rows = await self.real(pool)
        if self.calls == 1:
            await self.release.wait()
        return rows


async def add_partner(db, slug: str, token: str) -> None:
    await db.execute(
        "INSERT INTO tenant (slug, name, ts_token_hash) VALUES ($1, $1, $2)",
        slug,
        hash_secret(token),
    )


async def overtaken(db, pool, monkeypatch) -> tuple[TenantDirectory, SlowFirstRead, asyncio.Task]:
    """A loaded directory whose next reload has read the table, then a partner added and
    the directory invalidated before that reload answers."""
    directory = TenantDirectory(pool, ZoneInfo("UTC"), ttl=3600)
    await directory.reload()
    slow = SlowFirstRead(directory_module.repository.directory_rows)
    monkeypatch.setattr(directory_module.repository, "directory_rows", slow)
    older = asyncio.create_task(directory.reload())
    while slow.calls == 0:
        await asyncio.sleep(0.01)
    await add_partner(db, "late", "tok-late")
    directory.invalidate()
    return directory, slow, older


async def test_a_slow_reload_does_not_undo_a_newer_one(db, pool, monkeypatch):
    directory, slow, older = await overtaken(db, pool, monkeypatch)
    await directory.reload()
    slow.release.set()
    await older
    assert slow.calls == 2
    assert (await directory.known({"ts_token": "tok-late"})) is not None
    assert slow.calls == 2, "the newer reload is fresh: no read needed"


async def test_a_reload_overtaken_by_invalidate_is_not_trusted(db, pool, monkeypatch):
    directory, slow, older = await overtaken(db, pool, monkeypatch)
    slow.release.set()
    await older
    assert (await directory.known({"ts_token": "tok-late"})) is not None
    assert slow.calls == 2, "the next lookup read the table again"
