"""The `postback` command line."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from postback import migrate as migrations
from postback.db import sqlalchemy_url
from postback.embedded import EmbeddedPostgres
from postback.settings import get_settings
from postback.tenants import service as tenant_service

app = typer.Typer(
    help="Postback: affiliate conversion postbacks on PostgreSQL.", no_args_is_help=True
)
tenants = typer.Typer(help="Manage partners (tenants).", no_args_is_help=True)
app.add_typer(tenants, name="tenants")

# The tenant table's slug_format check, so a bad slug is an error message, not a traceback.
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def _valid_slug(value: str) -> str:
    if not SLUG.fullmatch(value):
        raise typer.BadParameter(
            f"{value!r}: use 1 to 63 lowercase letters, digits and dashes, such as shopee-my"
        )
    return value


@contextlib.contextmanager
def database_url() -> Iterator[str]:
    """DATABASE_URL, or the embedded server (started for the command, stopped after)."""
    settings = get_settings()
    if settings.database_url is not None:
        yield settings.database_url.get_secret_value()
        return
    embedded = EmbeddedPostgres(settings.home_dir)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


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
        http="httptools",
        access_log=False,
        proxy_headers=True,
        log_level=settings.log_level.lower(),
    )


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    with database_url() as url:
        migrations.upgrade_sync(url)
    typer.echo("database is up to date")


@contextlib.asynccontextmanager
async def _session(url: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            yield session
    finally:
        await engine.dispose()


@tenants.command("create")
def tenants_create(
    name: Annotated[str, typer.Option(help="Display name")],
    slug: Annotated[
        str,
        typer.Option(help="Short id: lowercase letters, digits, dashes", callback=_valid_slug),
    ],
    ts_token: Annotated[
        str | None, typer.Option(help="Token Involve Asia sends as ts_token")
    ] = None,
    ts_param: Annotated[str | None, typer.Option(help="Value sent as ts_param")] = None,
    tlm_token: Annotated[str | None, typer.Option(help="Value sent as tlm_token")] = None,
    retention_days: Annotated[int, typer.Option(min=1)] = 7,
    dedup: Annotated[bool, typer.Option(help="Flag repeated conversion_ids")] = True,
    timezone: Annotated[str | None, typer.Option(help="IANA timezone")] = None,
) -> None:
    """Create a partner; prints its secrets once."""

    async def run(url: str) -> tenant_service.CreatedTenant:
        await migrations.upgrade(url)
        async with _session(url) as session:
            return await tenant_service.create_tenant(
                session,
                name=name,
                slug=slug,
                ts_token=ts_token,
                ts_param=ts_param,
                tlm_token=tlm_token,
                retention_days=retention_days,
                dedup_enabled=dedup,
                timezone=timezone,
            )

    from postback.errors import PostbackError

    with database_url() as url:
        try:
            created = asyncio.run(run(url))
        except PostbackError as exc:
            typer.echo(f"error: {exc.field}: {exc.message}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"created partner {created.tenant.slug} (id {created.tenant.id})")
    for kind, value in created.secrets.items():
        typer.echo(f"  {kind}: {value}")
    typer.echo("Keep these now: they are stored hashed and cannot be shown again.")


def main() -> None:
    app()
