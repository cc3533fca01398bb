"""What a copied row looks like: its Arrow schema, and database records as Arrow batches."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import pyarrow as pa

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


def to_batch(records: Sequence[asyncpg.Record]) -> pa.RecordBatch:
    """Records in the query's column order (ROW_SCHEMA's) as one Arrow batch."""
    columns = list(zip(*records, strict=True)) if records else [() for _ in ROW_SCHEMA]
    arrays = [
        pa.array(values, type=field.type) for values, field in zip(columns, ROW_SCHEMA, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=ROW_SCHEMA)


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
