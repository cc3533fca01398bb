"""Group commit: concurrent postbacks share transactions and are answered after commit."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from postback.ingest.batcher import Batcher, StorageUnavailable
from postback.ingest.service import new_receipt_id
from tests.ingest.test_repository import row


async def test_concurrent_rows_share_transactions(db, database_url):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=3)
    batches: list[int] = []
    batcher = Batcher(
        pool,
        max_size=500,
        queue_limit=10_000,
        writers=2,
        on_batch=lambda size, _: batches.append(size),
    )
    batcher.start()
    try:
        outcomes = await asyncio.gather(*(batcher.submit(row(f"G-{i}")) for i in range(300)))
    finally:
        await batcher.stop()
        await pool.close()
    assert sum(batches) == 300
    assert len(batches) < 300 / 10, f"expected group commit, got batches {batches}"
    ids = {o.id for o in outcomes}
    assert len(ids) == 300
    assert await db.fetchval("SELECT count(*) FROM conversion WHERE id = ANY($1)", list(ids)) == 300


async def test_batch_size_is_capped(db, database_url):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    batches: list[int] = []
    batcher = Batcher(
        pool,
        max_size=7,
        queue_limit=10_000,
        writers=1,
        on_batch=lambda size, _: batches.append(size),
    )
    batcher.start()
    try:
        await asyncio.gather(*(batcher.submit(row(f"S-{i}")) for i in range(50)))
    finally:
        await batcher.stop()
        await pool.close()
    assert max(batches) == 7
    assert sum(batches) == 50


async def test_stop_writes_everything_queued(db, database_url):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    batcher = Batcher(pool, max_size=10, queue_limit=10_000, writers=1)
    batcher.start()
    pending = [asyncio.ensure_future(batcher.submit(row(f"F-{i}"))) for i in range(40)]
    await asyncio.sleep(0)
    await batcher.stop()
    await pool.close()
    assert all(p.done() and not p.exception() for p in pending)
    assert await db.fetchval("SELECT count(*) FROM conversion") == 40


async def test_unreachable_database_fails_the_batch_as_unavailable(db, database_url):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    batcher = Batcher(pool, max_size=10, queue_limit=100, writers=1)
    batcher.start()
    await pool.close()
    try:
        with pytest.raises(StorageUnavailable):
            await batcher.submit(row("U-1", receipt=new_receipt_id()))
    finally:
        await batcher.stop()


async def test_one_bad_row_does_not_sink_its_batch(db, database_url):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    batcher = Batcher(pool, max_size=10, queue_limit=100, writers=1)
    batcher.start()
    bad = row("BAD-1", tenant_id=999_999)  # no such tenant: the foreign key refuses it
    try:
        results = await asyncio.gather(
            batcher.submit(row("OK-1")),
            batcher.submit(bad),
            batcher.submit(row("OK-2")),
            return_exceptions=True,
        )
    finally:
        await batcher.stop()
        await pool.close()
    assert not isinstance(results[0], Exception)
    assert isinstance(results[1], Exception)
    assert not isinstance(results[2], Exception)
    assert await db.fetchval("SELECT count(*) FROM conversion") == 2


async def test_endpoint_answers_503_when_the_database_is_gone(client, db, monkeypatch):
    service = client._transport.app.state.ingest

    async def unavailable(_row):
        raise StorageUnavailable("connection refused")

    monkeypatch.setattr(service.storage, "submit", unavailable)
    response = await client.get("/postback/", params={"conversion_id": "DOWN-1"})
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.json()["status"] == "error"
