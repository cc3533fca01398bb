"""The `postback` command line: a thin root that mounts each domain's commands.

`serve` and `migrate` stay here: they start or prepare the whole service, not one domain.
"""

from __future__ import annotations

from typing import Annotated

import typer

from postback import migrate as migrations
from postback.accounts.cli import app as users
from postback.anomalies.cli import app as anomalies
from postback.audit.cli import app as audit
from postback.cli_support import database_url
from postback.forecasts.cli import export_features
from postback.lifecycle.cli import cleanup, import_history
from postback.nlq.cli import ask
from postback.reports.cli import app as reports
from postback.settings import get_settings
from postback.sync.cli import export, reporting_user, sync
from postback.system.cli import db
from postback.tenants.cli import app as tenants

app = typer.Typer(
    help="Postback: affiliate conversion postbacks on PostgreSQL.", no_args_is_help=True
)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "postback.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        loop="uvloop",
        http="postback.web.protocol:JoinedWritesProtocol",
        access_log=False,
        proxy_headers=True,
        log_level=settings.log_level.lower(),
        # On SIGTERM, requests in flight finish (a postback waits milliseconds for its batch);
        # a dashboard's live feed, which would stream for minutes, is cut after this (8 s on
        # Cloud Run, which sends SIGKILL 10 s after SIGTERM).
        timeout_graceful_shutdown=8 if settings.cloud_run_service else 10,
    )


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    with database_url() as url:
        migrations.upgrade_sync(url)
    typer.echo("database is up to date")


app.command()(cleanup)
app.command("import")(import_history)
app.command()(ask)
app.add_typer(tenants, name="tenants")
app.add_typer(users, name="users")
app.add_typer(audit, name="audit")
app.add_typer(db, name="db")
app.command()(sync)
export.command("features")(export_features)
app.add_typer(export, name="export")
app.add_typer(reporting_user, name="reporting-user")
app.add_typer(anomalies, name="anomalies")
app.add_typer(reports, name="reports")


def main() -> None:
    app()
