"""The batch SQL under real concurrency: separate transactions racing on one conversion."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from postback.ingest import repository
from postback.ingest.schemas import ConversionRow
from postback.ingest.service import new_receipt_id


def row(conversion_id: str, status: str | None = "pending", tenant_id: int = 1, receipt=None):
    return ConversionRow(
        receipt or new_receipt_id(),
        tenant_id,
        conversion_id,
        "1001",
        "Shopee MY",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        status or "unknown",
        status,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "{}",
        datetime.now(UTC),
        "198.51.100.1",
        True,
    )


async def test_two_transactions_racing_leave_one_first_row(db, database_url):
    a = await asyncpg.connect(database_url)
    b = await asyncpg.connect(database_url)
    try:
        ta, tb = a.transaction(), b.transaction()
        await ta.start()
        await tb.start()
        first = await repository.write_conversions(a, [row("RACE-TX")])
        # b blocks on a's uncommitted first row until a commits, then stores a duplicate.
        second_task = asyncio.create_task(repository.write_conversions(b, [row("RACE-TX")]))
        await asyncio.sleep(0.2)
        assert not second_task.done()
        await ta.commit()
        second = await second_task
        await tb.commit()
    finally:
        await a.close()
        await b.close()
    assert first[0].duplicate is False
    assert second[0].duplicate is True
    rows = await db.fetch("SELECT id, is_duplicate, first_id FROM conversion ORDER BY id")
    assert [(r["is_duplicate"], r["first_id"]) for r in rows] == [
        (False, None),
        (True, first[0].id),
    ]


async def test_replayed_receipt_is_not_stored_twice(db, database_url):
    receipt = new_receipt_id()
    conn = await asyncpg.connect(database_url)
    try:
        once = await repository.write_conversions(conn, [row("REPLAY-1", receipt=receipt)])
        twice = await repository.write_conversions(conn, [row("REPLAY-1", receipt=receipt)])
    finally:
        await conn.close()
    assert once == twice
    assert await db.fetchval("SELECT count(*) FROM conversion") == 1


async def test_batch_outcomes_follow_input_order(db, database_url):
    rows = [row("B-1"), row("B-2"), row("B-1", "approved"), row("B-3"), row("B-2")]
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            outcomes = await repository.write_conversions(conn, rows)
    finally:
        await conn.close()
    assert [o.duplicate for o in outcomes] == [False, False, True, False, True]
    by_id = {r["id"]: r for r in await db.fetch("SELECT * FROM conversion")}
    assert [by_id[o.id]["receipt_id"] for o in outcomes] == [r[0] for r in rows]
    assert by_id[outcomes[0].id]["status"] == "approved"


async def test_concurrent_batches_sharing_conversions_never_deadlock(db, database_url):
    """Two writers whose batches hold the same conversions in opposite orders: each statement
    takes its rows' unique keys in one fixed order, so neither waits on a key the other holds
    while it holds one the other waits on."""
    a = await asyncpg.connect(database_url)
    b = await asyncpg.connect(database_url)
    try:
        for round_ in range(20):
            keys = [f"DL-{round_}-{i:03}" for i in range(150)]
            first = [row(k) for k in keys]
            second = [row(k, "approved") for k in reversed(keys)]
            outcomes = await asyncio.gather(
                repository.write_conversions(a, first), repository.write_conversions(b, second)
            )
            # Every conversion has one first row and one duplicate, whoever came first.
            flags = sorted(o.duplicate for batch in outcomes for o in batch)
            assert flags == [False] * 150 + [True] * 150
    finally:
        await a.close()
        await b.close()
    assert await db.fetchval("SELECT count(*) FROM conversion WHERE NOT is_duplicate") == 3000
