"""`postback reports`: send the due scheduled reports once (for cron, or to look now)."""

from __future__ import annotations

import asyncio

import typer

from postback import migrate as migrations
from postback.cli_support import database_url
from postback.settings import get_settings

app = typer.Typer(help="Scheduled reports of saved questions.", no_args_is_help=True)


@app.command("send-due")
def send_due() -> None:
    """Send every report that is due now (each once, whatever else runs) and say how many."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from postback.alerting.routes import channel_sender
    from postback.db import sqlalchemy_url
    from postback.forwarding.sender import Sender
    from postback.reports import jobs

    settings = get_settings()

    async def run(url: str) -> jobs.Ran:
        await migrations.upgrade(url)
        engine = create_async_engine(sqlalchemy_url(url))
        sender = Sender(
            timeout=settings.forward_timeout, allow_private=settings.forward_allow_private
        )
        try:
            return await jobs.send_due(engine, channel_sender(sender, settings), settings)
        finally:
            await sender.close()
            await engine.dispose()

    with database_url() as url:
        ran = asyncio.run(run(url))
    typer.echo(f"{ran.sent} reports sent, {ran.failed} failed")
    if ran.failed:
        raise typer.Exit(1)
