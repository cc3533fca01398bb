"""`postback cleanup` (the retention cleanup run once, for cron) and `postback import` (an
Involve Asia report export stored as postbacks)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from postback import migrate as migrations
from postback.cli_support import database_url
from postback.lifecycle.service import BATCH_SIZE
from postback.settings import get_settings

if TYPE_CHECKING:
    from postback.lifecycle import importer


def cleanup(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be removed")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Rows per delete transaction")
    ] = BATCH_SIZE,
) -> None:
    """Remove detail past each partner's retention and history past POSTBACK_HISTORY_DAYS
    (for cron); prints, per partner and kind, what went (or with --dry-run would go)."""
    import sys
    from datetime import UTC, datetime

    import structlog
    from sqlalchemy.ext.asyncio import create_async_engine

    from postback.db import sqlalchemy_url
    from postback.lifecycle import jobs
    from postback.lifecycle import service as lifecycle
    from postback.lifecycle.schemas import CleanupReport
    from postback.logging import configure_logging
    from postback.sync import service as sync

    # Nothing the configured sync (POSTBACK_SYNC_TO) has not copied yet is removed.
    lifecycle.use_sync_cutoff(sync.oldest_uncopied)

    settings = get_settings()
    configure_logging(settings)
    # The report table owns stdout; log lines go to stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))

    async def run(url: str) -> CleanupReport | None:
        await migrations.upgrade(url)
        engine = create_async_engine(sqlalchemy_url(url))
        try:
            return await jobs.run_cleanup(
                engine,
                now=datetime.now(UTC),
                dry_run=dry_run,
                batch_size=batch_size,
                history_days=settings.history_days,
            )
        finally:
            await engine.dispose()

    with database_url() as url:
        report = asyncio.run(run(url))
    if report is None:
        typer.echo("skipped: another cleanup is running (it holds the advisory lock)")
        return
    typer.echo(report.as_table())


# Problems printed of a refused import (the count of the rest follows).
SHOWN_PROBLEMS = 200


def import_history(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="Involve Asia report export"
        ),
    ],
    partner: Annotated[str, typer.Option(help="Slug of the partner the conversions belong to")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count, then roll back: nothing stored")
    ] = False,
    forward: Annotated[
        bool,
        typer.Option(
            "--forward/--no-forward",
            help="Queue the partner's forwards for imported conversions (default: no)",
        ),
    ] = False,
) -> None:
    """Import an Involve Asia conversion report export (CSV or XLSX) as if each row had been
    postbacked; all or nothing, and importing the same rows again stores nothing new."""
    from zoneinfo import ZoneInfo

    import asyncpg
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from postback.lifecycle import importer
    from postback.lifecycle.report_file import ReportError, read_report
    from postback.logging import configure_logging

    settings = get_settings()
    configure_logging(settings)
    try:
        report = read_report(file)
    except ReportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None

    async def run(url: str) -> importer.ImportSummary:
        await migrations.upgrade(url)
        conn = await asyncpg.connect(url)
        try:
            tenant = await importer.find_partner(conn, partner, ZoneInfo(settings.timezone))
            with Progress(
                TextColumn("importing"), BarColumn(), MofNCompleteColumn(), transient=True
            ) as bar:
                task = bar.add_task("rows", total=len(report.rows))
                return await importer.import_report(
                    conn,
                    report,
                    tenant,
                    dry_run=dry_run,
                    forward=forward,
                    progress=lambda done: bar.advance(task, done),
                )
        finally:
            await conn.close()

    with database_url() as url:
        try:
            summary = asyncio.run(run(url))
        except importer.UnknownPartner as exc:
            typer.echo(f"error: --partner: {exc}", err=True)
            raise typer.Exit(1) from None
        except importer.ImportRefused as exc:
            for problem in exc.problems[:SHOWN_PROBLEMS]:
                typer.echo(f"error: {problem}", err=True)
            if len(exc.problems) > SHOWN_PROBLEMS:
                typer.echo(f"… and {len(exc.problems) - SHOWN_PROBLEMS} more", err=True)
            typer.echo(f"{file.name}: {exc}", err=True)
            raise typer.Exit(1) from None
    typer.echo(summary_text(file.name, summary))


def summary_text(name: str, summary: importer.ImportSummary) -> str:
    verb = "would store (dry run: nothing stored)" if summary.dry_run else "stored"
    lines = [
        f"{name} → partner {summary.partner}: {summary.rows} rows read",
        f"  {verb}: {summary.stored}"
        f" ({summary.first_rows} new conversions, {summary.duplicates} duplicates)",
        f"  already imported: {summary.already_imported}",
        f"  status changes: {summary.status_changes}",
        f"  forwards: {'queued' if summary.forwarded else 'not sent (use --forward)'}",
    ]
    return "\n".join(lines)
