"""A DuckDB database file with one table, `conversions`, merged on the row id.

Batches are gathered up to `write_rows` (100,000 by default); each such group is one DuckDB
transaction: its ids deleted, then its rows inserted, so a row that came again (a status
change) replaces the one before and rows copied twice are there once. The watermark in
PostgreSQL moves after the last group and a checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from postback.sync.rows import GATHER_ROWS, ROW_SCHEMA, Gathered
from postback.sync.schemas import DestinationError

TABLE = "conversions"

# Ready-made views, the same as BigQuery's (postback/sync/bigquery.py).
VIEWS = {
    "daily_partner_offer": f"""
        SELECT day, partner, offer_id, any_value(offer_name) AS offer_name,
               count(*) FILTER (WHERE NOT is_duplicate) AS conversions,
               count(*) FILTER (WHERE is_duplicate) AS duplicates,
               sum(usd_sale_amount) FILTER (WHERE NOT is_duplicate) AS sales_usd,
               sum(usd_payout) FILTER (WHERE NOT is_duplicate) AS payouts_usd,
               sum(myr_sale_amount) FILTER (WHERE NOT is_duplicate) AS sales_myr,
               sum(myr_payout) FILTER (WHERE NOT is_duplicate) AS payouts_myr
        FROM {TABLE} GROUP BY day, partner, offer_id""",
    "status_breakdown": f"""
        SELECT day, partner, status, count(*) AS conversions,
               sum(usd_sale_amount) AS sales_usd, sum(usd_payout) AS payouts_usd
        FROM {TABLE} WHERE NOT is_duplicate GROUP BY day, partner, status""",
}


class DuckDBSink:
    def __init__(self, path: Path, name: str, write_rows: int = GATHER_ROWS) -> None:
        self.path = path
        self.name = name
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._gathered = Gathered(write_rows)

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = duckdb.connect(str(self.path))
            empty = pa.Table.from_batches([], ROW_SCHEMA)
            self._conn.register("empty_rows", empty)
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} AS FROM empty_rows")
            self._conn.unregister("empty_rows")
            for view, query in VIEWS.items():
                self._conn.execute(f"CREATE OR REPLACE VIEW {view} AS {query}")
        except (OSError, duckdb.Error) as exc:
            self.close()
            raise DestinationError(self.name, _problem(exc)) from exc

    def write(self, batch: pa.RecordBatch) -> None:
        table = self._gathered.add(batch)
        if table is not None:
            self._merge(table)

    def _merge(self, rows: pa.Table) -> None:
        conn = self._conn
        assert conn is not None, "open() first"
        try:
            conn.register("batch_rows", rows)
            conn.execute("BEGIN TRANSACTION")
            conn.execute(f"DELETE FROM {TABLE} WHERE id IN (SELECT id FROM batch_rows)")
            conn.execute(f"INSERT INTO {TABLE} BY NAME FROM batch_rows")
            conn.execute("COMMIT")
        except duckdb.Error as exc:
            raise DestinationError(self.name, _problem(exc)) from exc
        finally:
            conn.unregister("batch_rows")

    def commit(self) -> None:
        assert self._conn is not None, "open() first"
        rest = self._gathered.take()
        if rest is not None:
            self._merge(rest)
        try:
            self._conn.execute("CHECKPOINT")
        except duckdb.Error as exc:
            raise DestinationError(self.name, _problem(exc)) from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _problem(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"cannot write there: {exc.strerror}"
    return str(exc).splitlines()[0]
