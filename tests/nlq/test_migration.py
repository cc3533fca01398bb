"""Migration 0003: the reporting views and role, on a database of their own, up, down and up
again (the role is shared by every database of the server, so it outlives a downgrade)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic import command
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from postback import migrate
from postback.db import sqlalchemy_url, with_database


@pytest.fixture
async def scratch_url(server_url: str) -> AsyncIterator[str]:
    name = f"postback_mig_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def downgrade(url: str, revision: str) -> None:
    config = migrate.alembic_config(url)

    def _downgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    engine = create_async_engine(sqlalchemy_url(url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade)
    finally:
        await engine.dispose()


async def reporting_objects(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'reporting' "
            "ORDER BY 1"
        )
        return [row["table_name"] for row in rows]
    finally:
        await conn.close()


async def test_up_down_up(scratch_url: str) -> None:
    await migrate.upgrade(scratch_url, "0003")
    assert await reporting_objects(scratch_url) == ["conversions", "rejections"]

    await downgrade(scratch_url, "0001")
    assert await reporting_objects(scratch_url) == []
    conn = await asyncpg.connect(scratch_url)
    try:
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = 'reporting'")
            == 0
        )
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM pg_roles WHERE rolname = 'postback_reporting'"
            )
            == 1
        )
    finally:
        await conn.close()

    await migrate.upgrade(scratch_url, "0003")
    assert await reporting_objects(scratch_url) == ["conversions", "rejections"]


async def test_views_hide_what_reports_never_need(scratch_url: str) -> None:
    await migrate.upgrade(scratch_url, "0003")
    conn = await asyncpg.connect(scratch_url)
    try:
        columns = {
            row["column_name"]
            for row in await conn.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'reporting' AND table_name = 'conversions'"
            )
        }
    finally:
        await conn.close()
    assert {"tenant_id", "partner", "offer_name", "myr_payout", "occurred_at"} <= columns
    assert not columns & {"raw", "source_ip", "receipt_id", "first_id", "deduplicated"}
