"""Reading the audit log straight from the database, as an operator's SQL would."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from tests.fixtures import ADMIN_TOKEN

AGENT = "audit-tests/1.0 (+https://example.com)"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "User-Agent": AGENT}
# The client address the test client connects from (tests/fixtures.py).
CLIENT_IP = "203.0.113.7"


async def entries(db: asyncpg.Connection, action: str | None = None) -> list[dict[str, Any]]:
    """Every entry (or those of one action), oldest first, each as a dict of its columns."""
    rows = await db.fetch(
        "SELECT to_jsonb(a)::text AS row FROM audit_entry a"
        " WHERE $1::text IS NULL OR action = $1 ORDER BY id",
        action,
    )
    return [orjson.loads(row["row"]) for row in rows]


async def only(db: asyncpg.Connection, action: str) -> dict[str, Any]:
    found = await entries(db, action)
    assert len(found) == 1, found
    return found[0]


async def whole_log(db: asyncpg.Connection) -> str:
    """Every entry's every column as text: a secret must appear nowhere in it."""
    text = await db.fetchval(
        "SELECT coalesce(string_agg(to_jsonb(a)::text, ' '), '') FROM audit_entry a"
    )
    return str(text)


async def now(db: asyncpg.Connection) -> Any:
    return await db.fetchval("SELECT clock_timestamp()")
