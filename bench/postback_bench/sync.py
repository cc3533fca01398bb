"""`postback-bench sync`: export and sync N conversions, each run as the real command in its
own process, timed, with its peak memory (the process's maximum RSS, from wait4).

The data set is the dashboard benchmark's (8 partners, 30 days, about 5% duplicates, loaded
in bulk inside a database of its own, dropped at the end unless --keep). Then: the Parquet
export of everything; a first sync to a Parquet directory and to a DuckDB file (every row);
1% of the first rows change status; the incremental syncs that follow (the changed rows);
and a sync with nothing to copy.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from postback import migrate
from postback.db import asyncpg_url, with_database
from postback_bench.dashboard import ensure_partners, load
from postback_bench.database import create_database, drop_database

BEGIN = "<!-- sync-bench:begin -->"
END = "<!-- sync-bench:end -->"
CHANGED_SHARE = 100  # one first row in this many changes status


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    rows: int
    seconds: float
    peak_rss_mb: float
    output_mb: float | None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class SyncBench:
    rows: int
    batch_size: int
    load_seconds: float
    steps: list[Step]
    started: datetime
    load_average: tuple[float, float]
    command: str


def _size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _measure(label: str, args: list[str], url: str, output: Path | None, cwd: Path) -> Step:
    """Run `python -m postback ARGS`; its wall time, the rows it reported, its peak RSS."""
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 (this interpreter, our own arguments)
            [sys.executable, "-m", "postback", *args], cwd=cwd, env=env, stdout=out, stderr=err
        )
        # wait4 rather than wait: the kernel's resource usage of this one child.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"{label} failed ({process.returncode}): {stderr.strip()}")
    found = re.search(r"(\d+) rows", stdout)
    rows = int(found[1]) if found else 0
    size = _size_mb(output) if output is not None and output.exists() else None
    # ru_maxrss is in kilobytes on Linux.
    return Step(label, rows, seconds, usage.ru_maxrss / 1024, size)


async def _loaded(server: str, name: str, rows: int) -> str | None:
    """The URL of a kept benchmark database holding exactly `rows` conversions, its sync
    watermarks cleared (so the first syncs copy every row again); None if there is none."""
    url = with_database(server, name)
    try:
        conn = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        if await conn.fetchval("SELECT to_regclass('conversion') IS NULL"):
            return None
        if await conn.fetchval("SELECT count(*) FROM conversion") != rows:
            return None
        await conn.execute("DELETE FROM sync_watermark")
    finally:
        await conn.close()
    await migrate.upgrade(url)
    return url


async def _prepare(
    server: str, name: str, rows: int, say: Callable[[str], None], *, reuse: bool = False
) -> str:
    if reuse and (url := await _loaded(server, name, rows)) is not None:
        say(f"using the kept database {name} ({rows:,} conversions)")
        return url
    await drop_database(server, name)
    url = await create_database(server, name)
    await migrate.upgrade(url)
    conn = await asyncpg.connect(url)
    try:
        await ensure_partners(conn)
        say(f"loading {rows:,} conversions")
        await load(conn, rows, say)
        await conn.execute("VACUUM (ANALYZE) conversion")
    finally:
        await conn.close()
    return url


async def _change_statuses(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        status = await conn.execute(
            "UPDATE conversion SET status = 'approved', status_updated_at = now()"
            " WHERE id % $1 = 0 AND NOT is_duplicate",
            CHANGED_SHARE,
        )
        return int(status.split()[-1])
    finally:
        await conn.close()


def run(
    *,
    rows: int,
    database_url: str,
    batch_size: int,
    keep: bool,
    command: str,
    say: Callable[[str], None],
) -> SyncBench:
    server = asyncpg_url(database_url)
    name = f"postback_sync_bench_{rows}"
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    url = asyncio.run(_prepare(server, name, rows, say, reuse=keep))
    load_seconds = time.perf_counter() - began
    work = Path(tempfile.mkdtemp(prefix="postback-sync-bench-"))
    batch = ["--batch-size", str(batch_size)]
    lake, duck, export = work / "lake", work / "copy.duckdb", work / "export"
    steps: list[Step] = []
    try:
        plan: list[tuple[str, list[str], Path | None]] = [
            (
                "export parquet (all rows)",
                ["export", "parquet", "--out", str(export), *batch],
                export,
            ),
            ("sync parquet, first (all rows)", ["sync", "--to", f"parquet:{lake}", *batch], lake),
            ("sync duckdb, first (all rows)", ["sync", "--to", f"duckdb:{duck}", *batch], duck),
        ]
        for label, args, output in plan:
            say(f"  {label}")
            steps.append(_measure(label, args, url, output, work))
        changed = asyncio.run(_change_statuses(url))
        say(f"  {changed:,} first rows changed status")
        for label, args, output in [
            ("sync parquet, after 1% changed", ["sync", "--to", f"parquet:{lake}", *batch], lake),
            ("sync duckdb, after 1% changed", ["sync", "--to", f"duckdb:{duck}", *batch], duck),
            ("sync duckdb, nothing changed", ["sync", "--to", f"duckdb:{duck}", *batch], duck),
        ]:
            say(f"  {label}")
            steps.append(_measure(label, args, url, output, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not keep:
            asyncio.run(drop_database(server, name))
    return SyncBench(
        rows=rows,
        batch_size=batch_size,
        load_seconds=load_seconds,
        steps=steps,
        started=started,
        load_average=(load_before, os.getloadavg()[0]),
        command=command,
    )


def markdown(result: SyncBench) -> str:
    lines = [
        BEGIN,
        f"## Export and sync: {result.rows:,} conversions ({result.started:%Y-%m-%d %H:%M} UTC)",
        "",
        f"`{result.command}` — each step is the real command in its own process (wall time,",
        "including start-up and the migration check; peak memory is that process's maximum RSS).",
        f"Batches of {result.batch_size:,} rows; the data set is the dashboard benchmark's,",
        f"loaded in {result.load_seconds:.0f} s. Load average (1 min) before / after:",
        f"{result.load_average[0]:.1f} / {result.load_average[1]:.1f} on this shared 2-core"
        " machine.",
        "",
        "| step | rows | seconds | rows/s | peak RSS | output |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for step in result.steps:
        size = "" if step.output_mb is None else f"{step.output_mb:,.0f} MB"
        lines.append(
            f"| {step.label} | {step.rows:,} | {step.seconds:.1f} | "
            f"{step.rows_per_second:,.0f} | {step.peak_rss_mb:,.0f} MB | {size} |"
        )
    lines += ["", END]
    return "\n".join(lines)


def write_markdown(path: Path, text: str) -> None:
    """Replace this benchmark's block in `path` (added at the end the first time)."""
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN in current and END in current:
        before, rest = current.split(BEGIN, 1)
        current = before + text + rest.split(END, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(current)
