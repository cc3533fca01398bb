"""What the per-domain commands share: the database to work on, one committed transaction on
it, and the slug check for options that name a partner."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from postback import migrate as migrations
from postback.audit import service as audit
from postback.audit.schemas import Actor
from postback.db import sqlalchemy_url
from postback.embedded import EmbeddedPostgres
from postback.settings import get_settings
from postback.tenants.schemas import SLUG

T = TypeVar("T")

_SLUG = re.compile(SLUG)


def valid_slug(value: str) -> str:
    """A Typer callback: a bad slug is an error message, not a database traceback."""
    if not _SLUG.fullmatch(value):
        raise typer.BadParameter(
            f"{value!r}: use 1 to 63 lowercase letters, digits and dashes, such as shopee-my"
        )
    return value


def valid_optional_slug(value: str | None) -> str | None:
    return None if value is None else valid_slug(value)


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


def cli_actor() -> Actor:
    """Who a command's changes are recorded as: the OS user, on this machine."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor("cli", user, user_agent=f"postback CLI on {socket.gethostname()}")


@contextlib.asynccontextmanager
async def session(url: str) -> AsyncIterator[AsyncSession]:
    """One transaction, committed when the block ends without an error; its changes are
    audited as the OS user's (`cli_actor`)."""
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as opened, opened.begin():
            audit.act_as(opened, cli_actor())
            yield opened
    finally:
        await engine.dispose()


def run_change(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on the migrated database; a refusal is a
    message on stderr and exit code 1."""
    from pydantic import ValidationError

    from postback.errors import PostbackError

    async def run(url: str) -> T:
        await migrations.upgrade(url)
        async with session(url) as opened:
            return await work(opened)

    with database_url() as url:
        try:
            return asyncio.run(run(url))
        except PostbackError as exc:
            typer.echo(f"error: {exc.field}: {exc.message}", err=True)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"]) or "request"
                typer.echo(f"error: {field}: {error['msg']}", err=True)
    raise typer.Exit(1)
