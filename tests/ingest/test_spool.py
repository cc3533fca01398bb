"""The durable spool: its record format, what survives a crash, and replay into PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from postback.ingest.batcher import Batcher, StorageUnavailable
from postback.ingest.spool import Spool, decode_payload, encode_record, read_records, read_segment
from tests.ingest.test_repository import row


def amounts_row(conversion_id: str) -> tuple[object, ...]:
    values = list(row(conversion_id))
    values[5] = datetime(2026, 11, 24, 10, 15, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    values[8] = Decimal("1234.500000")
    values[13] = Decimal("-0.000001")
    values[26] = '{"conversion_id": "' + conversion_id + '", "note": "货到付款"}'
    return tuple(values)


async def wait_until(condition, seconds: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def opened(root: Path, pool: asyncpg.Pool | None = None) -> Spool:
    spool = Spool(root, pool, probe_seconds=0.1)  # type: ignore[arg-type]
    await spool.open()
    return spool


class BrokenConnectionPool:
    """A pool handing out a connection asyncpg left in a broken protocol state, as seen when
    PostgreSQL shut down (`pg_ctl stop -m fast`) under load."""

    def acquire(self, timeout: float | None = None) -> BrokenConnectionPool:
        return self

    async def __aenter__(self) -> BrokenConnectionPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def fetch(self, *args: object) -> list[object]:
        raise asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        )


def segment_files(root: Path) -> list[Path]:
    return sorted(root.glob("*/*.seg"))


class TestRecordFormat:
    def test_rows_come_back_exactly(self):
        rows = [amounts_row("FMT-1"), amounts_row("FMT-2")]
        (payload,) = read_records(encode_record(rows))
        back = decode_payload(payload)
        assert back == rows
        assert str(back[0][8]) == "1234.500000"  # Decimals as written, never through float
        assert isinstance(back[0][0], uuid.UUID)
        assert back[0][5].utcoffset() == timedelta(hours=8)

    def test_a_torn_last_record_is_ignored(self):
        first, second = encode_record([row("T-1")]), encode_record([row("T-2")])
        for torn in (second[:5], second[:-1], second[:-3] + b"xyz"):
            payloads = list(read_records(first + torn))
            assert [decode_payload(p)[0][2] for p in payloads] == ["T-1"]

    def test_an_empty_segment_has_no_records(self):
        assert list(read_records(b"")) == []


class TestAppend:
    async def test_batches_survive_a_restart_in_the_order_written(self, tmp_path):
        spool = await opened(tmp_path)
        for i in range(3):
            await spool.append([row(f"O-{i}-a"), row(f"O-{i}-b")])
        assert spool.depth == 6
        await spool.stop()

        again = await opened(tmp_path)
        assert again.depth == 6
        batches = [b for path in segment_files(tmp_path) for b in read_segment(path)]
        assert [[r[2] for r in b] for b in batches] == [[f"O-{i}-a", f"O-{i}-b"] for i in range(3)]
        await again.stop()

    async def test_a_torn_tail_from_a_crash_is_not_counted(self, tmp_path):
        spool = await opened(tmp_path)
        await spool.append([row("C-1")])
        await spool.stop()
        (segment,) = segment_files(tmp_path)
        with segment.open("ab") as file:  # a crash in the middle of the next write
            file.write(encode_record([row("C-2")])[:-4])
        again = await opened(tmp_path)
        assert again.depth == 1
        await again.append([row("C-3")])  # goes to a new segment, after the torn one
        assert again.depth == 2
        await again.stop()

    async def test_each_process_takes_its_own_slot(self, tmp_path):
        first = await opened(tmp_path)
        second = await opened(tmp_path)
        assert first.directory != second.directory
        await first.stop()
        await second.stop()

    async def test_a_slot_left_behind_is_adopted(self, tmp_path):
        holder = await opened(tmp_path)  # slot 0 stays busy
        gone = await opened(tmp_path)
        await gone.append([row("ORPHAN-1")])
        await gone.stop()
        await holder.stop()
        successor = await opened(tmp_path)
        assert successor.depth == 1
        await successor.stop()

    async def test_unwritable_spool_answers_storage_unavailable(self, tmp_path, database_url):
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
        spool = await opened(tmp_path, pool)
        await pool.close()  # the database is away, so the batch goes to the spool
        # A full or read-only disk: chmod does not stop root, so the slot becomes a file.
        shutil.rmtree(spool.directory)
        spool.directory.write_text("")
        batcher = Batcher(pool, max_size=10, queue_limit=100, writers=1, spool=spool)
        batcher.start()
        try:
            with pytest.raises(StorageUnavailable):
                await batcher.submit(row("FULL-1"))
        finally:
            await batcher.stop()
            await spool.stop()
        assert spool.depth == 0
        assert not spool.writable


class TestReplay:
    async def test_database_away_spools_then_replays_in_order(self, db, database_url, tmp_path):
        down = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
        await down.close()
        spool = await opened(tmp_path, down)
        batcher = Batcher(down, max_size=10, queue_limit=100, writers=1, spool=spool)
        batcher.start()
        try:
            outcomes = [await batcher.submit(row("ORDER-1", status=s)) for s in ("pending", "paid")]
        finally:
            await batcher.stop()
            await spool.stop()
        assert all(o.spooled and o.id is None for o in outcomes)

        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
        replayer = await opened(tmp_path, pool)
        assert replayer.depth == 2
        replayer.start()
        try:
            await wait_until(lambda: replayer.depth == 0)
        finally:
            await replayer.stop()
            await pool.close()
        rows = await db.fetch(
            "SELECT is_duplicate, status FROM conversion WHERE conversion_id = 'ORDER-1' "
            "ORDER BY id"
        )
        # Stored in the order acknowledged: the later status is the one the first row shows.
        assert [(r["is_duplicate"], r["status"]) for r in rows] == [
            (False, "paid"),
            (True, "paid"),
        ]
        assert segment_files(tmp_path) == []

    async def test_a_connection_left_broken_by_a_shutdown_spools_the_batch(self, tmp_path):
        spool = await opened(tmp_path)
        pool = BrokenConnectionPool()
        batcher = Batcher(pool, max_size=10, queue_limit=100, writers=1, spool=spool)  # type: ignore[arg-type]
        batcher.start()
        try:
            outcome = await batcher.submit(row("BROKEN-1"))
        finally:
            await batcher.stop()
            await spool.stop()
        assert outcome.spooled
        assert spool.depth == 1

    async def test_replaying_a_segment_twice_stores_nothing_twice(self, db, database_url, tmp_path):
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
        spool = await opened(tmp_path, pool)
        await spool.append([amounts_row(f"TWICE-{i}") for i in range(5)])
        await spool.append([amounts_row("TWICE-0")])  # a real duplicate of TWICE-0
        await spool.stop()
        (segment,) = segment_files(tmp_path)
        kept = segment.read_bytes()
        try:
            await spool.replay_segment(segment)
            segment.write_bytes(kept)  # a crash after the rows committed, before the delete
            await spool.replay_segment(segment)
        finally:
            await pool.close()
        assert await db.fetchval("SELECT count(*) FROM conversion") == 6
        assert await db.fetchval("SELECT count(*) FROM conversion WHERE NOT is_duplicate") == 5
        amount = await db.fetchval(
            "SELECT sale_amount_local FROM conversion WHERE conversion_id = 'TWICE-1'"
        )
        assert amount == Decimal("1234.500000")

    async def test_a_row_the_database_refuses_is_kept_as_a_rejection(
        self, db, database_url, tmp_path
    ):
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
        spool = await opened(tmp_path, pool)
        # No such tenant any more (deleted while the row waited): the foreign key refuses it.
        await spool.append([row("KEEP-1"), row("LOST-TENANT", tenant_id=999_999)])
        await spool.stop()
        (segment,) = segment_files(tmp_path)
        try:
            await spool.replay_segment(segment)
        finally:
            await pool.close()
        assert await db.fetchval("SELECT count(*) FROM conversion") == 1
        rejection = await db.fetchrow("SELECT reason, conversion_id, received_at FROM rejection")
        assert rejection["reason"] == "unstorable"
        assert rejection["conversion_id"] == "LOST-TENANT"
        assert rejection["received_at"] <= datetime.now(UTC)
