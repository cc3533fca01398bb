"""The token cache of ingestion: a change made through the API is seen at the next postback,
whatever the cache's lifetime and however long the machine has been up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from postback.security import hash_secret
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
