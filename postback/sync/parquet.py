"""A directory of Parquet files, one per conversion day: `DIR/day=YYYY-MM-DD/data.parquet`.

A run first writes the rows to a staging folder: batches are gathered up to `write_rows`
(100,000 by default), then written as one file per day they touch, so memory holds that many rows
at most. On commit each day it touched is rewritten: the rows of
the day's current file whose ids did not come again, then the new rows, into a hidden
temporary file that replaces `data.parquet` in one rename. A reader sees a day's old file or
its new one, never half of one and never a row twice; a run that dies leaves the files as
they were (or some days already replaced, which the next run replaces again with the same
rows). A directory has one writer at a time (the sync's advisory lock; an export to the
same directory while a sync runs is not guarded).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from postback.sync.rows import GATHER_ROWS, ROW_SCHEMA, Gathered
from postback.sync.schemas import DestinationError

# The files hold every column but the partition's: `day` is in the folder name (the Hive
# convention), so readers that take partitions from paths (pandas, pyarrow with
# partitioning="hive", DuckDB, Spark, BigQuery's hive partitioning) see it once, not twice
# with two types.
FILE_SCHEMA = ROW_SCHEMA.remove(ROW_SCHEMA.get_field_index("day"))

FILE_NAME = "data.parquet"
# Rows per row group in the files written: big enough for readers to scan well, small
# enough that a merge holds only a few megabytes.
ROW_GROUP_ROWS = 128 * 1024
_STAGING_PREFIX = ".staging-"


def day_directory(root: Path, day: object) -> Path:
    return root / f"day={day}"


class ParquetSink:
    def __init__(self, root: Path, name: str, write_rows: int = GATHER_ROWS) -> None:
        self.root = root
        self.name = name
        self._staging: Path | None = None
        self._parts = 0
        self._gathered = Gathered(write_rows)

    def open(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for stale in self.root.glob(f"{_STAGING_PREFIX}*"):
                shutil.rmtree(stale, ignore_errors=True)
            self._staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.root))
        except OSError as exc:
            raise DestinationError(self.name, f"cannot write there: {exc.strerror}") from exc

    def write(self, batch: pa.RecordBatch) -> None:
        assert self._staging is not None, "open() first"
        table = self._gathered.add(batch)
        if table is not None:
            self._stage(self._staging, table)

    def _stage(self, staging: Path, table: pa.Table) -> None:
        days = table.column("day")
        for day in pc.unique(days).to_pylist():
            rows = table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
            folder = day_directory(staging, day)
            self._parts += 1
            try:
                folder.mkdir(exist_ok=True)
                pq.write_table(rows.drop_columns(["day"]), folder / f"{self._parts:08d}.parquet")
            except OSError as exc:
                raise DestinationError(self.name, f"cannot write: {exc.strerror}") from exc

    def commit(self) -> None:
        assert self._staging is not None, "open() first"
        rest = self._gathered.take()
        if rest is not None:
            self._stage(self._staging, rest)
        try:
            for staged in sorted(self._staging.iterdir()):
                self._replace_day(staged)
        except OSError as exc:
            raise DestinationError(self.name, f"cannot write: {exc.strerror}") from exc

    def close(self) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def _replace_day(self, staged: Path) -> None:
        parts = sorted(staged.glob("*.parquet"))
        new_ids = pa.chunked_array(
            [pq.read_table(part, columns=["id"]).column("id") for part in parts], pa.int64()
        ).combine_chunks()
        folder = self.root / staged.name
        folder.mkdir(exist_ok=True)
        target = folder / FILE_NAME
        temporary = folder / f".{uuid.uuid4().hex}.tmp"
        try:
            with pq.ParquetWriter(temporary, FILE_SCHEMA) as writer:
                buffer = _RowGroups(writer)
                if target.exists():
                    for batch in pq.ParquetFile(target).iter_batches(ROW_GROUP_ROWS):
                        kept = pc.invert(pc.is_in(batch.column("id"), value_set=new_ids))
                        buffer.add(batch.filter(kept))
                for part in parts:
                    for batch in pq.ParquetFile(part).iter_batches(ROW_GROUP_ROWS):
                        buffer.add(batch)
                buffer.flush()
            _fsync(temporary)
            os.replace(temporary, target)
            _fsync(folder)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()


class _RowGroups:
    """Collects small batches into row groups of about ROW_GROUP_ROWS rows."""

    def __init__(self, writer: pq.ParquetWriter) -> None:
        self._writer = writer
        self._batches: list[pa.RecordBatch] = []
        self._rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self._batches.append(batch)
            self._rows += batch.num_rows
        if self._rows >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        if self._batches:
            table = pa.Table.from_batches(self._batches, FILE_SCHEMA)
            self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self._batches, self._rows = [], 0


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
