"""`postback sync`, `postback export parquet` and `postback reporting-user create`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from postback import migrate as migrations
from postback.cli_support import database_url, valid_optional_slug
from postback.settings import get_settings
from postback.sync.schemas import BATCH_SIZE, WRITE_ROWS, Destination, DestinationError

T = TypeVar("T")

export = typer.Typer(help="Export conversions to files.", no_args_is_help=True)
reporting_user = typer.Typer(
    help="Database logins for BI tools (read-only, reporting views).", no_args_is_help=True
)


def _destination(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return Destination.parse(value).name
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def _on_database(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` on the migrated database; a destination's refusal is a message on stderr
    and exit code 1. Log lines (the progress of each batch) go to stderr."""
    import structlog
    from sqlalchemy.ext.asyncio import create_async_engine

    from postback.db import sqlalchemy_url
    from postback.logging import configure_logging

    configure_logging(get_settings())
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))

    async def run(url: str) -> T:
        await migrations.upgrade(url)
        engine = create_async_engine(sqlalchemy_url(url))
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    with database_url() as url:
        try:
            return asyncio.run(run(url))
        except DestinationError as exc:
            typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


def sync(
    to: Annotated[
        str | None,
        typer.Option(
            help="parquet:DIR, duckdb:FILE, bigquery://PROJECT/DATASET (or POSTBACK_SYNC_TO)",
            callback=_destination,
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Copy every row again, not only what changed")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Rows read from the database at a time")
    ] = BATCH_SIZE,
    write_rows: Annotated[
        int, typer.Option(min=1, help="Rows a Parquet or DuckDB destination writes at a time")
    ] = WRITE_ROWS,
) -> None:
    """Copy what changed since the last sync to a warehouse (for cron); prints what went."""
    from postback.sync import jobs

    to = to or get_settings().sync_to
    if to is None:
        raise typer.BadParameter("give --to, or set POSTBACK_SYNC_TO", param_hint="--to")
    destination = Destination.parse(to)
    report = _on_database(
        lambda engine: jobs.run_sync(
            engine, destination, full=full, batch_size=batch_size, write_rows=write_rows
        )
    )
    if report is None:
        typer.echo("skipped: another sync is running (it holds the advisory lock)")
        return
    typer.echo(report.as_text())


@export.command("parquet")
def export_parquet(
    out: Annotated[Path, typer.Option(help="Directory for the day=YYYY-MM-DD/ partitions")],
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First conversion day")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last conversion day")
    ] = None,
    partner: Annotated[
        str | None, typer.Option(help="Only this partner's rows", callback=valid_optional_slug)
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Rows read from the database at a time")
    ] = BATCH_SIZE,
    write_rows: Annotated[
        int, typer.Option(min=1, help="Rows a Parquet or DuckDB destination writes at a time")
    ] = WRITE_ROWS,
) -> None:
    """Write conversions as Parquet files, one per conversion day (reporting timezone)."""
    from postback.jobs import autocommit_connection
    from postback.sync import service
    from postback.sync.schemas import RowFilter

    out = out.expanduser().resolve()
    rows = RowFilter(since=_day(since), until=_day(until), partner=partner)
    if rows.since and rows.until and rows.since > rows.until:
        raise typer.BadParameter("--since is after --until", param_hint="--since")

    async def work(engine: AsyncEngine) -> int:
        async with autocommit_connection(engine) as conn:
            return await service.export(
                conn, out, rows, batch_size=batch_size, write_rows=write_rows
            )

    written = _on_database(work)
    typer.echo(f"{written} rows written under {out}")


@reporting_user.command("create")
def create_reporting_user(
    name: Annotated[str, typer.Argument(help="Login name: lowercase letters, digits, _")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
) -> None:
    """Create a login that may read the reporting views and nothing else."""
    from postback.cli_support import run_change
    from postback.sync import service

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None

    async def work(session: object) -> service.ReportingUser:
        from sqlalchemy.ext.asyncio import AsyncSession

        assert isinstance(session, AsyncSession)
        return await service.create_reporting_user(session, name, password)

    created = run_change(work)
    typer.echo(f"created login {created.name}: SELECT on {', '.join(created.views)} only")
    if created.generated_password is not None:
        typer.echo(f"password (shown once): {created.generated_password}")
