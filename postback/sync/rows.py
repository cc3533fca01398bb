"""What a copied row looks like: its Arrow schema, and the rows as Arrow batches.

The rows leave PostgreSQL as `COPY … TO STDOUT (FORMAT csv)` and Arrow's CSV reader types
them (C++ throughout): decoding each value into a Python object and building the arrays from
those objects cost about four times as much CPU per row. Times travel as microseconds since
the epoch (exact, whatever the session's time zone), amounts as PostgreSQL's own decimal text.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

from postback.sync.schemas import WRITE_ROWS

# NUMERIC(20, 6) in PostgreSQL; a Parquet decimal of the same precision and scale, which
# BigQuery loads as NUMERIC and DuckDB as DECIMAL(20, 6).
MONEY = pa.decimal128(20, 6)
UTC_TIME = pa.timestamp("us", tz="UTC")

# One row per stored postback row. `status` (and its raw value and time) is the conversion's
# current one: a duplicate row shows its first row's; `received_status` is what that row's
# own postback said. `day` is the conversion day in the reporting timezone, the partition.
ROW_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("partner", pa.string(), nullable=False),
        pa.field("tenant_id", pa.int64(), nullable=False),
        pa.field("conversion_id", pa.string(), nullable=False),
        pa.field("order_id", pa.string()),
        pa.field("offer_id", pa.string()),
        pa.field("offer_name", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("status_raw", pa.string()),
        pa.field("status_updated_at", UTC_TIME),
        pa.field("received_status", pa.string(), nullable=False),
        pa.field("is_duplicate", pa.bool_(), nullable=False),
        pa.field("first_id", pa.int64()),
        pa.field("currency", pa.string()),
        pa.field("sale_amount_local", MONEY),
        pa.field("myr_sale_amount", MONEY),
        pa.field("usd_sale_amount", MONEY),
        pa.field("payout_local", MONEY),
        pa.field("myr_payout", MONEY),
        pa.field("usd_payout", MONEY),
        pa.field("datetime_conversion", UTC_TIME),
        pa.field("datetime_conversion_updated", UTC_TIME),
        pa.field("occurred_at", UTC_TIME, nullable=False),
        pa.field("received_at", UTC_TIME, nullable=False),
        pa.field("aff_sub", pa.string()),
        pa.field("aff_sub2", pa.string()),
        pa.field("aff_sub3", pa.string()),
        pa.field("aff_sub4", pa.string()),
        pa.field("adv_sub", pa.string()),
        pa.field("adv_sub2", pa.string()),
        pa.field("adv_sub3", pa.string()),
        pa.field("adv_sub4", pa.string()),
        pa.field("adv_sub5", pa.string()),
    ]
)
COLUMNS = tuple(ROW_SCHEMA.names)


# Rows a destination gathers before writing (a few tens of MB as Arrow): small batches keep
# the database side's memory low, and larger writes keep the files and transactions few.
GATHER_ROWS = WRITE_ROWS


class Gathered:
    """Arrow batches gathered until about GATHER_ROWS rows, then taken as one table."""

    def __init__(self, limit: int = GATHER_ROWS) -> None:
        self._limit = limit
        self._batches: list[pa.RecordBatch] = []
        self._rows = 0

    def add(self, batch: pa.RecordBatch) -> pa.Table | None:
        """The gathered rows once there are enough, else None."""
        self._batches.append(batch)
        self._rows += batch.num_rows
        return self.take() if self._rows >= self._limit else None

    def take(self) -> pa.Table | None:
        """Whatever is gathered (None when nothing is)."""
        if not self._rows:
            return None
        table = pa.Table.from_batches(self._batches, ROW_SCHEMA)
        self._batches, self._rows = [], 0
        return table


def csv_select(query: str) -> str:
    """`query` (ROW_SCHEMA's columns in order) with times as epoch microseconds, for COPY."""
    columns = ", ".join(
        f"(extract(epoch FROM q.{f.name}) * 1000000)::bigint"
        if pa.types.is_timestamp(f.type)
        else f"q.{f.name}"
        for f in ROW_SCHEMA
    )
    return f"SELECT {columns} FROM ({query}) AS q"  # noqa: S608 (schema names, our query)


_CSV_TYPES = {f.name: pa.int64() if pa.types.is_timestamp(f.type) else f.type for f in ROW_SCHEMA}
_READ = csv.ReadOptions(column_names=list(COLUMNS), block_size=4 << 20)
# PostgreSQL's CSV: an unquoted empty field is NULL, a quoted one ("") the empty string; a
# value holding a line break is quoted, so records may span lines.
_PARSE = csv.ParseOptions(newlines_in_values=True)
_CONVERT = csv.ConvertOptions(
    column_types=_CSV_TYPES,
    true_values=["t"],
    false_values=["f"],
    null_values=[""],
    strings_can_be_null=True,
    quoted_strings_can_be_null=False,
)


def parse_csv(data: bytes) -> pa.Table:
    """Whole CSV records of csv_select's columns as a table of ROW_SCHEMA."""
    table = csv.read_csv(
        io.BytesIO(data), read_options=_READ, parse_options=_PARSE, convert_options=_CONVERT
    )
    columns = [
        pc.cast(table.column(f.name), f.type) if pa.types.is_timestamp(f.type) else table[f.name]
        for f in ROW_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=ROW_SCHEMA)


def record_end(data: bytes | bytearray) -> int:
    """The length of the longest prefix of `data` made of whole CSV records: up to a line
    break outside quotes (one preceded by an even number of quote characters, a doubled
    quote inside a value counting twice)."""
    end = data.rfind(b"\n")
    while end >= 0 and data.count(b'"', 0, end) % 2:
        end = data.rfind(b"\n", 0, end)
    return end + 1


class CsvBatches:
    """COPY's output in, batches of exactly `batch_size` rows out (the last one smaller):
    bytes gather until about `parse_bytes`, whole records are typed, and the rows wait until
    a batch is full."""

    def __init__(
        self,
        batch_size: int,
        on_batch: Callable[[pa.RecordBatch], Awaitable[None]],
        parse_bytes: int = 8 << 20,
    ) -> None:
        self._batch_size = batch_size
        self._on_batch = on_batch
        self._parse_bytes = parse_bytes
        self._bytes = bytearray()
        self._rows: list[pa.Table] = []
        self._row_count = 0

    async def feed(self, data: bytes) -> None:
        self._bytes += data
        if len(self._bytes) >= self._parse_bytes:
            end = record_end(self._bytes)
            if end:
                await self._typed(bytes(self._bytes[:end]))
                del self._bytes[:end]

    async def finish(self) -> None:
        if self._bytes:
            await self._typed(bytes(self._bytes))
            self._bytes.clear()
        await self._send(final=True)

    async def _typed(self, data: bytes) -> None:
        table = parse_csv(data)
        self._rows.append(table)
        self._row_count += table.num_rows
        await self._send(final=False)

    async def _send(self, *, final: bool) -> None:
        if self._row_count < self._batch_size and not (final and self._row_count):
            return
        rows = pa.concat_tables(self._rows).combine_chunks()
        self._rows, self._row_count = [], 0
        start = 0
        while rows.num_rows - start >= self._batch_size or (final and start < rows.num_rows):
            piece = rows.slice(start, self._batch_size)
            start += piece.num_rows
            await self._on_batch(piece.to_batches()[0])
        if start < rows.num_rows:
            rest = rows.slice(start)
            self._rows, self._row_count = [rest], rest.num_rows
