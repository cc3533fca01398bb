"""`postback-bench history`: how long `postback import` takes for an Involve Asia export of N
rows, again for the same file (nothing new stored), and how long a cleanup round takes (dry
run, then real) once those rows are past the retention.

Runs against a PostgreSQL server (`--database-url`, or DATABASE_URL) in a database of its own,
made and dropped by the run.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from postback import migrate
from postback.db import asyncpg_url, sqlalchemy_url
from postback.jobs import autocommit_connection
from postback.lifecycle import importer, service
from postback.lifecycle.report_file import read_report
from postback_bench.database import create_database, drop_database

HEADER = (
    "Conversion ID,Offer ID,Offer Name,Order ID,Sale Amount,USD Sale Amount,Payout,USD Payout,"
    "Currency,Status,Datetime Conversion,Aff Sub 1\n"
)


@dataclass(frozen=True, slots=True)
class HistoryResult:
    rows: int
    read_seconds: float
    import_seconds: float
    reimport_seconds: float
    stored: int
    status_changes: int
    dry_run_seconds: float
    cleanup_seconds: float
    payloads_cleared: int
    duplicates_deleted: int
    started: datetime


def write_export(path: Path, rows: int) -> None:
    """`rows` lines: one per conversion, and every tenth line approves the one before it."""
    start = datetime(2026, 9, 1, tzinfo=UTC)
    with path.open("w") as out:
        out.write(HEADER)
        for n in range(rows):
            repeat = n % 10 == 0 and n > 0
            conversion = n - 1 if repeat else n
            status = "Approved" if repeat else "Pending"
            moment = start + timedelta(seconds=97 * conversion)
            out.write(
                f"IA-{conversion},{3000 + conversion % 40},Shop {conversion % 40},"
                f'SO-{conversion},"1,{conversion % 1000:03d}.50",{conversion % 300}.25,'
                f"{conversion % 90}.75,{conversion % 20}.05,MYR,{status},"
                f"{moment:%Y-%m-%d %H:%M:%S},click-{conversion % 5000}\n"
            )


async def measure(server: str, rows: int, say: Callable[[str], None]) -> HistoryResult:
    started = datetime.now(UTC)
    name = f"postback_bench_history_{os.getpid()}"
    url = await create_database(server, name)
    try:
        await migrate.upgrade(url)
        conn = await asyncpg.connect(asyncpg_url(url))
        try:
            await conn.execute("INSERT INTO tenant (slug, name) VALUES ('history', 'History')")
            tenant = await importer.find_partner(conn, "history", ZoneInfo("Asia/Kuala_Lumpur"))
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "export.csv"
                write_export(path, rows)
                say(f"importing {rows} rows")
                t0 = time.perf_counter()
                report = read_report(path)
                t1 = time.perf_counter()
                summary = await importer.import_report(conn, report, tenant)
                t2 = time.perf_counter()
                again = await importer.import_report(conn, report, tenant)
                t3 = time.perf_counter()
            assert again.stored == 0, again
            # Every row past the 7 days of detail, well inside the 400 days of history.
            await conn.execute(
                "UPDATE conversion SET received_at = received_at - interval '30 days'"
            )
        finally:
            await conn.close()
        say("cleanup")
        engine = create_async_engine(sqlalchemy_url(url))
        try:
            async with autocommit_connection(engine) as sql:
                now = datetime.now(UTC)
                t4 = time.perf_counter()
                await service.cleanup(sql, now=now, dry_run=True)
                t5 = time.perf_counter()
                done = await service.cleanup(sql, now=now)
                t6 = time.perf_counter()
        finally:
            await engine.dispose()
    finally:
        await drop_database(server, name)
    return HistoryResult(
        rows=rows,
        read_seconds=t1 - t0,
        import_seconds=t2 - t1,
        reimport_seconds=t3 - t2,
        stored=summary.stored,
        status_changes=summary.status_changes,
        dry_run_seconds=t5 - t4,
        cleanup_seconds=t6 - t5,
        payloads_cleared=done.removed.payloads,
        duplicates_deleted=done.removed.duplicates,
        started=started,
    )


def run(server: str, rows: int, say: Callable[[str], None]) -> HistoryResult:
    return asyncio.run(measure(server, rows, say))


def markdown(result: HistoryResult, command: str) -> str:
    r = result
    rows = [
        ("read the file", r.read_seconds, True, "parse, map headers"),
        (
            "import",
            r.import_seconds,
            True,
            f"type, write 500 rows a transaction: {r.stored:,} stored,"
            f" {r.status_changes:,} status changes",
        ),
        ("import again", r.reimport_seconds, True, "the same file: nothing stored"),
        ("cleanup --dry-run", r.dry_run_seconds, False, "counts only"),
        (
            "cleanup",
            r.cleanup_seconds,
            False,
            f"{r.payloads_cleared:,} payloads cleared, {r.duplicates_deleted:,} duplicates deleted",
        ),
    ]
    table = "\n".join(
        f"| {step} | {seconds:.2f} | {f'{r.rows / seconds:,.0f}' if per_row else ''} | {what} |"
        for step, seconds, per_row, what in rows
    )
    return f"""# History import and cleanup

`{command}` on {r.started:%Y-%m-%d %H:%M} UTC (2-core machine, shared). One Involve Asia export
(CSV) of {r.rows:,} rows: every tenth line approves the conversion of the line before it.

| step | seconds | rows/s | what |
|---|---:|---:|---|
{table}
"""
