"""The sync and the export against the real database and real files: what each destination
holds equals the source tables, re-runs change nothing, status changes replace rows, and an
interrupted run loses and doubles nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import asyncpg
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from postback.app import PostbackApp
from postback.jobs import autocommit_connection
from postback.sync import jobs, service
from postback.sync.parquet import ParquetSink
from postback.sync.schemas import Destination, DestinationError, RowFilter
from tests.factories import postback
from tests.sync.helpers import (
    ZONE,
    Copy,
    insert_rows,
    receive_postbacks,
    send,
    source_figures,
    source_ids,
    source_statuses,
)


def destination(kind: str, tmp_path: Path) -> tuple[Destination, Copy]:
    if kind == "parquet":
        return Destination.parse(f"parquet:{tmp_path / 'lake'}"), Copy.parquet(tmp_path / "lake")
    return Destination.parse(f"duckdb:{tmp_path / 'copy.duckdb'}"), Copy.duckdb(
        tmp_path / "copy.duckdb"
    )


async def run(app: PostbackApp, dest: Destination, **options: object):
    report = await jobs.run_sync(app.state.db.engine, dest, zone=ZONE, **options)  # type: ignore[arg-type]
    assert report is not None
    return report


async def export(app: PostbackApp, out: Path, rows: RowFilter, batch_size: int = 100) -> int:
    async with autocommit_connection(app.state.db.engine) as conn:
        return await service.export(conn, out, rows, zone=ZONE, batch_size=batch_size)


async def watermark(db: asyncpg.Connection, dest: Destination) -> str | None:
    value = await db.fetchval(
        "SELECT snapshot::text FROM sync_watermark WHERE destination = $1", dest.name
    )
    return None if value is None else str(value)


@pytest.mark.parametrize("kind", ["parquet", "duckdb"])
class TestSync:
    async def test_the_copy_equals_the_database(self, app, client, db, tmp_path, kind):
        await receive_postbacks(app, client)
        dest, copy = destination(kind, tmp_path)

        report = await run(app, dest, batch_size=7, write_rows=20)

        assert report.rows == len(await source_ids(db)) == 50
        assert copy.figures() == await source_figures(db)
        assert copy.statuses() == await source_statuses(db)
        assert copy.ids() == await source_ids(db)

    async def test_running_again_copies_nothing_and_changes_nothing(
        self, app, client, db, tmp_path, kind
    ):
        await receive_postbacks(app, client)
        dest, copy = destination(kind, tmp_path)
        await run(app, dest)
        before = (copy.figures(), copy.statuses(), copy.ids())

        again = await run(app, dest)

        assert again.rows == 0
        assert (copy.figures(), copy.statuses(), copy.ids()) == before

    async def test_a_status_change_replaces_the_rows(self, app, client, db, tmp_path, kind):
        await receive_postbacks(app, client)
        dest, copy = destination(kind, tmp_path)
        await run(app, dest)

        # D-1 has a duplicate already: the first row and both repeats show the new status.
        await send(client, **postback("D-1", status="Approved"))
        report = await run(app, dest)

        assert report.rows == 3  # the first row, the old duplicate and the new one
        assert copy.statuses()[("default", "D-1")] == "approved"
        assert copy.statuses() == await source_statuses(db)
        assert copy.ids() == await source_ids(db)
        assert copy.figures() == await source_figures(db)

    async def test_a_failure_between_batches_loses_and_doubles_nothing(
        self, app, db, tmp_path, kind
    ):
        await insert_rows(db, 500)
        dest, copy = destination(kind, tmp_path)
        real = service.open_sink(dest, write_rows=100)

        class FailsOnFourthBatch:
            name = real.name
            written = 0

            def open(self) -> None:
                real.open()

            def write(self, batch: pa.RecordBatch) -> None:
                if self.written == 3:  # after one DuckDB transaction or staged file
                    raise DestinationError(self.name, "connection lost")
                real.write(batch)
                self.written += 1

            def commit(self) -> None:
                real.commit()

            def close(self) -> None:
                real.close()

        with pytest.raises(DestinationError, match="connection lost"):
            await run(app, dest, batch_size=100, sink=FailsOnFourthBatch())
        assert await watermark(db, dest) is None
        if kind == "duckdb":  # three groups were committed there; Parquet staged them only
            assert len(copy.ids()) == 300

        await run(app, dest, batch_size=100)

        assert copy.ids() == await source_ids(db)
        assert copy.figures() == await source_figures(db)

    async def test_a_row_committed_late_by_a_writer_is_not_skipped(
        self, app, db, database_url, tmp_path, kind
    ):
        """A transaction that began before a run and commits after it: a marker below the
        run's watermark would skip its row for ever."""
        await insert_rows(db, 10)
        dest, copy = destination(kind, tmp_path)
        writer = await asyncpg.connect(database_url)
        try:
            transaction = writer.transaction()
            await transaction.start()
            await writer.execute(
                "INSERT INTO conversion (receipt_id, tenant_id, conversion_id, status, raw,"
                " received_at, deduplicated)"
                " SELECT gen_random_uuid(), id, 'LATE', 'pending', '{}', now(), true"
                " FROM tenant WHERE is_default"
            )
            await run(app, dest)
            await insert_rows(db, 0)
            await run(app, dest)  # the writer is still open: its row is not visible yet
            await transaction.commit()
        finally:
            await writer.close()

        await run(app, dest)

        assert copy.ids() == await source_ids(db)
        assert ("default", "LATE") in copy.statuses()


class TestParquetFiles:
    async def test_typed_partitions_readable_as_a_dataset(self, app, client, db, tmp_path):
        await receive_postbacks(app, client)
        out = tmp_path / "export"

        count = await export(app, out, RowFilter(), batch_size=9)

        assert count == 50
        days = sorted(p.name for p in out.iterdir())
        expected_days = sorted({f"day={f.day}" for f in await source_figures(db)})
        assert days == expected_days
        assert all(sorted(p.name for p in (out / d).iterdir()) == ["data.parquet"] for d in days)
        schema = pq.read_schema(out / days[0] / "data.parquet")
        assert schema.field("usd_sale_amount").type == pa.decimal128(20, 6)
        assert schema.field("received_at").type == pa.timestamp("us", tz="UTC")
        assert "day" not in schema.names  # in the folder's name only (Hive partitioning)
        by_day = ds.partitioning(pa.schema([("day", pa.date32())]), flavor="hive")
        table = ds.dataset(out, format="parquet", partitioning=by_day).to_table()
        assert table.schema.field("day").type == pa.date32()
        assert sorted(table.column("id").to_pylist()) == await source_ids(db)

    async def test_export_filters_by_day_and_partner(self, app, client, db, tmp_path):
        await receive_postbacks(app, client)
        out = tmp_path / "export"
        since, until = "2026-11-11", "2026-11-12"
        rows = RowFilter(since=date(2026, 11, 11), until=date(2026, 11, 12), partner="acme")
        await export(app, out, rows)

        expected = {
            f for f in await source_figures(db) if f.partner == "acme" and since <= f.day <= until
        }
        assert expected
        assert Copy.parquet(out).figures() == expected

    async def test_a_run_dying_while_replacing_days_is_repaired_by_the_next(
        self, app, client, db, tmp_path
    ):
        await receive_postbacks(app, client)
        dest, copy = destination("parquet", tmp_path)
        await run(app, dest)
        await send(client, **postback("D-1", status="approved"))
        await send(client, **postback("D-2", status="pending"))

        class DiesAfterOneDay(ParquetSink):
            replaced = 0

            def _replace_day(self, staged: Path) -> None:
                if self.replaced == 1:
                    raise DestinationError(self.name, "killed")
                super()._replace_day(staged)
                self.replaced += 1

        sink = DiesAfterOneDay(Path(dest.target), dest.name)
        with pytest.raises(DestinationError):
            await run(app, dest, sink=sink)
        await run(app, dest)

        assert copy.ids() == await source_ids(db)
        assert copy.statuses() == await source_statuses(db)
        assert not [p for p in Path(dest.target).rglob(".*") if p.name != "."]


class TestBadDestinations:
    async def test_a_parquet_path_that_cannot_be_written(self, app, db, tmp_path):
        await insert_rows(db, 5)
        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        dest = Destination.parse(f"parquet:{blocker / 'lake'}")

        with pytest.raises(DestinationError) as refused:
            await run(app, dest)

        assert str(refused.value).startswith(f"parquet:{blocker / 'lake'}: cannot write there")
        assert await watermark(db, dest) is None

    async def test_a_file_that_is_not_a_duckdb_database(self, app, db, tmp_path):
        await insert_rows(db, 5)
        path = tmp_path / "copy.duckdb"
        path.write_bytes(b"this is not a database" * 1000)
        dest = Destination.parse(f"duckdb:{path}")

        with pytest.raises(DestinationError) as refused:
            await run(app, dest)

        assert str(refused.value).startswith(f"duckdb:{path}: ")
        assert await watermark(db, dest) is None

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("s3://bucket", "is not a destination"),
            ("parquet:", "names no path"),
            ("bigquery://P/dataset", "is not bigquery://PROJECT/DATASET"),
        ],
    )
    def test_unknown_destinations_are_named(self, text, problem):
        with pytest.raises(ValueError, match=problem):
            Destination.parse(text)


class TestReaders:
    async def test_pandas_reads_the_export_with_its_types(self, app, client, db, tmp_path):
        import pandas as pd

        await receive_postbacks(app, client)
        out = tmp_path / "export"
        await export(app, out, RowFilter())

        frame = pd.read_parquet(out)

        assert len(frame) == 50
        assert str(frame["received_at"].dt.tz) == "UTC"
        money = await db.fetchval("SELECT sum(usd_sale_amount) FROM conversion")
        assert sum(frame["usd_sale_amount"]) == money  # exact decimals, not floats
        assert set(frame["partner"]) == {"default", "acme"}
