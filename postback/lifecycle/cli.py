"""`postback cleanup`: the retention cleanup run once, for cron."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from postback import migrate as migrations
from postback.cli_support import database_url
from postback.lifecycle.service import BATCH_SIZE
from postback.settings import get_settings


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
    from postback.lifecycle.schemas import CleanupReport
    from postback.logging import configure_logging

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
