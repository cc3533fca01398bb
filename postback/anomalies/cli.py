"""`postback anomalies`: a scan on demand (for cron, or to look now) and each partner's
sensitivity."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

from postback import migrate as migrations
from postback.cli_support import database_url, run_change, valid_slug
from postback.settings import get_settings

app = typer.Typer(help="Anomaly scans and their alerts.", no_args_is_help=True)


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: use an ISO time such as 2026-12-03T10:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def scan(
    at: Annotated[
        str | None, typer.Option(help="Scan as if it were this time (ISO); now by default")
    ] = None,
) -> None:
    """Run one scan now (one instance at a time) and print what it found."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from postback.anomalies import jobs
    from postback.anomalies.service import ScanReport
    from postback.db import sqlalchemy_url

    now = _moment(at)
    settings = get_settings()

    async def run(url: str) -> ScanReport | None:
        await migrations.upgrade(url)
        engine = create_async_engine(sqlalchemy_url(url))
        try:
            return await jobs.run_scan(engine, now=now, settle_hours=settings.anomaly_settle_hours)
        finally:
            await engine.dispose()

    with database_url() as url:
        report = asyncio.run(run(url))
    if report is None:
        typer.echo("skipped: another scan is running (it holds the advisory lock)")
        return
    typer.echo(
        f"scanned at {report.now.isoformat()}: {report.judged_hours} hours judged, "
        f"{report.findings} findings, {report.opened} alerts opened, "
        f"{report.updated} updated, {report.resolved} resolved"
    )


@app.command()
def sensitivity(
    tenant: Annotated[str, typer.Argument(help="The partner's slug", callback=valid_slug)],
    value: Annotated[
        float,
        typer.Argument(
            min=0.1, max=10, help="1 is the default; 2 finds twice as readily, 0.5 half as"
        ),
    ],
) -> None:
    """Set how readily a partner's traffic raises alerts."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from postback.anomalies import repository
    from postback.errors import NotFound

    async def work(session: AsyncSession) -> None:
        if not await repository.set_sensitivity(session, tenant, value):
            raise NotFound(f"no partner with slug {tenant!r}", "tenant")

    run_change(work)
    typer.echo(f"{tenant}: sensitivity {value:g}")
