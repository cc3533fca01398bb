"""The copy: rows read in one consistent snapshot, batch by batch, into a destination; the
watermark moved only after the destination confirmed.

Which rows a sync copies. Every conversion row carries `change_xid`, the transaction that
last wrote it (migration 0013). A run reads in one REPEATABLE READ snapshot and keeps that
snapshot (`pg_current_snapshot()`: xmin, xmax and the transactions running in between). It
copies the rows whose writer the destination's previous snapshot did not see (all rows the
first time), and once the destination has confirmed, the watermark becomes the run's own
snapshot. A row is in a snapshot exactly when its writer is visible in it, so by induction
every committed row version is copied by the first run whose snapshot sees it: a writer
still running at a snapshot (whatever its id, however long it takes to commit) is not
visible in it, and the next run copies its rows. Nothing is skipped, and nothing is copied
twice unless a run failed after the destination took rows; the destinations merge on the
row id, so twice is once.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import asyncpg
import pyarrow as pa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from postback.errors import Conflict, InvalidInput
from postback.settings import get_settings
from postback.sync import repository
from postback.sync.rows import CsvBatches
from postback.sync.schemas import BATCH_SIZE, WRITE_ROWS, Destination, RowFilter, SyncReport

log = structlog.get_logger(__name__)


class Sink(Protocol):
    """A destination as the copy drives it; every method may raise DestinationError. The
    calls block (files, DuckDB, HTTP), so the copy runs them in a thread."""

    name: str

    def open(self) -> None:
        """Check the destination is reachable and writable, and prepare it."""

    def write(self, batch: pa.RecordBatch) -> None: ...

    def commit(self) -> None:
        """Return only once the destination holds every batch written."""

    def close(self) -> None:
        """Release what open() took, whether or not the copy was committed."""


def open_sink(destination: Destination, write_rows: int = WRITE_ROWS) -> Sink:
    """The destination's sink; Parquet and DuckDB write `write_rows` rows at a time."""
    if destination.kind == "parquet":
        from postback.sync.parquet import ParquetSink

        return ParquetSink(Path(destination.target), destination.name, write_rows)
    if destination.kind == "duckdb":
        from postback.sync.duckdb_file import DuckDBSink

        return DuckDBSink(Path(destination.target), destination.name, write_rows)
    from postback.sync.bigquery import BigQuerySink

    project, dataset = destination.target.split("/")
    return BigQuerySink(project, dataset, destination.name)


async def copy(
    conn: AsyncConnection,
    sink: Sink,
    rows: RowFilter,
    *,
    zone: str,
    batch_size: int = BATCH_SIZE,
) -> tuple[int, str]:
    """Copy `rows` into `sink` and commit it; (rows copied, the snapshot they were read in)."""
    driver = await _driver(conn)
    await asyncio.to_thread(sink.open)
    try:
        copied = 0
        async with driver.transaction(isolation="repeatable_read", readonly=True):
            seen = await repository.snapshot(driver)

            async def write(batch: pa.RecordBatch) -> None:
                nonlocal copied
                await asyncio.to_thread(sink.write, batch)
                copied += batch.num_rows
                log.info("sync_batch", destination=sink.name, rows=copied)

            batches = CsvBatches(batch_size, write)
            await repository.copy_rows(driver, rows, zone, batches.feed)
            await batches.finish()
        await asyncio.to_thread(sink.commit)
    finally:
        await asyncio.to_thread(sink.close)
    return copied, seen


async def sync(
    conn: AsyncConnection,
    destination: Destination,
    *,
    full: bool = False,
    zone: str | None = None,
    batch_size: int = BATCH_SIZE,
    write_rows: int = WRITE_ROWS,
    sink: Sink | None = None,
) -> SyncReport:
    """Copy what changed since `destination`'s watermark (everything with `full`), then
    move the watermark. Run under the sync's advisory lock (postback/sync/jobs.py)."""
    driver = await _driver(conn)
    previous = await repository.watermark(driver, destination.name)
    changed_since = None if full else previous
    copied, seen = await copy(
        conn,
        sink or open_sink(destination, write_rows),
        RowFilter(changed_since=changed_since),
        zone=zone or get_settings().timezone,
        batch_size=batch_size,
    )
    await repository.save_watermark(driver, destination.name, seen, copied)
    report = SyncReport(destination.name, copied, full, previous, seen)
    log.info("sync_done", destination=destination.name, rows=copied, watermark=seen)
    return report


async def export(
    conn: AsyncConnection,
    out: Path,
    rows: RowFilter,
    *,
    zone: str | None = None,
    batch_size: int = BATCH_SIZE,
    write_rows: int = WRITE_ROWS,
) -> int:
    """Write `rows` as Parquet day partitions under the absolute path `out` (rows already
    there with the same ids are replaced); the number of rows written."""
    from postback.sync.parquet import ParquetSink

    sink = ParquetSink(out, f"parquet:{out}", write_rows)
    copied, _ = await copy(
        conn, sink, rows, zone=zone or get_settings().timezone, batch_size=batch_size
    )
    return copied


async def oldest_uncopied(conn: AsyncConnection) -> datetime | None:
    """For the retention cleanup: the receipt time of the oldest conversion row the
    configured sync (POSTBACK_SYNC_TO) has not copied yet, so nothing received at or after it
    is deleted; every row counts when it never ran, and the database's now() when it has
    copied everything. None when no sync is configured."""
    configured = get_settings().sync_to
    if configured is None:
        return None
    return await repository.oldest_uncopied(conn, Destination.parse(configured).name)


async def _driver(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a SQLAlchemy one (for its server-side cursor)."""
    raw = await conn.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    return driver


_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True, slots=True)
class ReportingUser:
    name: str
    views: tuple[str, ...]
    # Set when no password was given: shown once, kept only as PostgreSQL's hash.
    generated_password: str | None


async def create_reporting_user(
    session: AsyncSession, name: str, password: str | None
) -> ReportingUser:
    """A PostgreSQL login for a BI tool (Looker Studio, Metabase) that reads the reporting
    views and nothing else; a password is generated when none is given."""
    if not _ROLE_NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r}: use 1 to 63 lowercase letters, digits and underscores, not starting "
            "with a digit, such as looker_studio",
            field="name",
        )
    if name.startswith("pg_") or name == repository.REPORTING_ROLE:
        raise InvalidInput(f"{name!r} is reserved", field="name")
    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(24)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"use at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if await repository.role_exists(session, name):
        raise Conflict(f"a role named {name!r} already exists", field="name")
    await repository.create_reporting_login(session, name, password)
    return ReportingUser(name, repository.REPORTING_VIEWS, generated)
