"""`postback export features`: the daily partner × offer features as Parquet (features.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from postback import migrate as migrations
from postback.cli_support import database_url, valid_optional_slug
from postback.settings import get_settings


def export_features(
    out: Annotated[Path, typer.Option(help="Directory for features.parquet")],
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="First day (default: each partner's first)"),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last day (default: yesterday)"),
    ] = None,
    partner: Annotated[
        str | None, typer.Option(help="Only this partner", callback=valid_optional_slug)
    ] = None,
) -> None:
    """Write daily partner × offer features (volumes, amounts, rates, lags, weekday) as
    Parquet, days in each partner's reporting timezone, for training models elsewhere."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from postback.db import sqlalchemy_url
    from postback.forecasts import features
    from postback.jobs import autocommit_connection

    if since and until and since > until:
        raise typer.BadParameter("--since is after --until", param_hint="--since")
    settings = get_settings()
    out = out.expanduser().resolve()

    async def run(url: str) -> features.Exported:
        await migrations.upgrade(url)
        engine = create_async_engine(sqlalchemy_url(url))
        try:
            async with autocommit_connection(engine) as conn:
                return await features.export(
                    conn,
                    out,
                    default_zone=settings.timezone,
                    since=since.date() if since else None,
                    until=until.date() if until else None,
                    partner=partner,
                )
        finally:
            await engine.dispose()

    with database_url() as url:
        done = asyncio.run(run(url))
    typer.echo(f"{done.rows} rows ({done.partners} partners) written to {done.path}")
