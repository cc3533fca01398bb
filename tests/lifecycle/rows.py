"""Rows with chosen receipt times, written straight to the database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

# A fixed clock for the tests: every age is measured from here.
NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


async def add_conversion(
    db: asyncpg.Connection,
    tenant_id: int,
    received_at: datetime,
    conversion_id: str | None = None,
    first_id: int | None = None,
) -> int:
    return int(
        await db.fetchval(
            "INSERT INTO conversion (receipt_id, tenant_id, conversion_id, status, raw,"
            " received_at, deduplicated, is_duplicate, first_id)"
            " VALUES ($1, $2, $3, 'pending', '{}', $4, true, $5::int8 IS NOT NULL, $5)"
            " RETURNING id",
            uuid.uuid4(),
            tenant_id,
            conversion_id or f"C-{uuid.uuid4().hex[:8]}",
            received_at,
            first_id,
        )
    )


async def add_rejection(
    db: asyncpg.Connection, tenant_id: int | None, received_at: datetime
) -> int:
    return int(
        await db.fetchval(
            "INSERT INTO rejection (received_at, tenant_id, reason, errors)"
            " VALUES ($1, $2, 'invalid', '[]') RETURNING id",
            received_at,
            tenant_id,
        )
    )


async def default_tenant_id(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT id FROM tenant WHERE is_default"))


async def conversion_ids(db: asyncpg.Connection) -> set[int]:
    return {r["id"] for r in await db.fetch("SELECT id FROM conversion")}


async def rejection_ids(db: asyncpg.Connection) -> set[int]:
    return {r["id"] for r in await db.fetch("SELECT id FROM rejection")}
