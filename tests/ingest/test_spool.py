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
from postback.ingest.schemas import ConversionRow
from postback.ingest.spool import Spool, decode_payload, encode_record, read_records, read_segment
from tests.ingest.test_repository import row

# One record as the spool's first version wrote it (rows as positional JSON arrays).
RECORD_V1 = (
    b"PBS1\x00\x00\x01b'0\x9c\xf0"
    b'{"v":1,"rows":[[{"u":"0190a0b0-c0d0-7000-8000-000000000001"},1,"OLD-1","1001",'
    b'"Shopee MY",{"t":"2026-11-24T10:15:00+08:00"},null,null,{"d":"1234.500000"},"12.5",'
    b'null,null,null,{"d":"-0.000001"},"MYR","pending","Pending",null,null,null,null,null,'
    b'null,null,null,null,"{\\"conversion_id\\": \\"OLD-1\\"}",'
    b'{"t":"2026-11-24T02:16:00+00:00"},"198.51.100.7",true]]}'
)


def amounts_row(conversion_id: str) -> ConversionRow:
    return row(conversion_id)._replace(
        datetime_conversion=datetime(
            2026, 11, 24, 10, 15, 0, 123456, tzinfo=timezone(timedelta(hours=8))
        ),
        sale_amount_local=Decimal("1234.500000"),
        usd_payout=Decimal("-0.000001"),
        raw='{"conversion_id": "' + conversion_id + '", "note": "货到付款"}',
    )


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
        assert str(back[0].sale_amount_local) == "1234.500000"  # as written, never a float
        assert isinstance(back[0].receipt_id, uuid.UUID)
        assert back[0].datetime_conversion.utcoffset() == timedelta(hours=8)

    def test_a_record_written_by_the_first_version_still_reads(self):
        """Version 1 of the format: each row a JSON array in ConversionRow's field order."""
        (payload,) = read_records(RECORD_V1)
        (back,) = decode_payload(payload)
        assert back.receipt_id == uuid.UUID("0190a0b0-c0d0-7000-8000-000000000001")
        assert (back.tenant_id, back.conversion_id, back.offer_name) == (1, "OLD-1", "Shopee MY")
        assert back.datetime_conversion == datetime(2026, 11, 24, 2, 15, tzinfo=UTC)
        assert (back.sale_amount_local, back.myr_sale_amount) == (Decimal("1234.5"), "12.5")
        assert back.usd_payout == Decimal("-0.000001")
        assert (back.conversion_currency, back.status, back.status_raw) == (
            "MYR",
            "pending",
            "Pending",
        )
        assert back.raw == '{"conversion_id": "OLD-1"}'
        assert back.received_at == datetime(2026, 11, 24, 2, 16, tzinfo=UTC)
        assert (back.source_ip, back.deduplicated) == ("198.51.100.7", True)
        assert encode_record([back]) == RECORD_V1

    def test_a_torn_last_record_is_ignored(self):
        first, second = encode_record([row("T-1")]), encode_record([row("T-2")])
        for torn in (second[:5], second[:-1], second[:-3] + b"xyz"):
            payloads = list(read_records(first + torn))
            assert [decode_payload(p)[0].conversion_id for p in payloads] == ["T-1"]

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
