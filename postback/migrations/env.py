"""Alembic environment: runs migrations on the URL the app passes in."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from postback.accounts import models as _account_models  # noqa: F401
from postback.audit import models as _audit_models  # noqa: F401
from postback.conversions import models as _conversion_models  # noqa: F401
from postback.db import sqlalchemy_url
from postback.forwarding import models as _forwarding_models  # noqa: F401
from postback.models import Base
from postback.tenants import models as _tenant_models  # noqa: F401

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        # Several instances may start at once: only one migrates, the others wait.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7380001)")
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "the database URL is passed in by postback.migrate"
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run `postback migrate`")
run_migrations_online()
