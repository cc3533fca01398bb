"""All SQL of the question engine runs here.

`run()` executes SQL the guard has checked: in a READ ONLY transaction that is always rolled
back, with a statement timeout, as the `postback_reporting` role, which can read the
reporting views and nothing else. The engine's own lookups (the names in the data, whether
day cells exist, a partner's timezone) are here too.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import NamedTuple

import asyncpg

from postback.db import asyncpg_url
from postback.nlq import guard

REPORTING_ROLE = "postback_reporting"
QUERY_TIMEOUT_MS = 5000


class Result(NamedTuple):
    columns: list[str]
    rows: list[tuple[object, ...]]


async def run(conn: asyncpg.Connection, sql: str, *, timeout_ms: int = QUERY_TIMEOUT_MS) -> Result:
    """Run guarded SQL in a READ ONLY transaction with a statement timeout, as the
    reporting role: return the column names and the rows."""
    timeout = max(1, int(timeout_ms))
    transaction = conn.transaction(readonly=True)
    await transaction.start()
    try:
        # Unqualified names find nothing of the application's schema; string literals mean
        # what the guard's regenerated SQL says whatever the server's default; report
        # queries group a few hundred thousand rows at most, in memory rather than on disk,
        # and skip JIT compilation, which costs more than it saves on queries this short.
        await conn.execute(
            f"SET LOCAL statement_timeout = {timeout}; SET LOCAL ROLE {REPORTING_ROLE}; "
            "SET LOCAL search_path = pg_catalog; SET LOCAL standard_conforming_strings = on; "
            "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"
        )
        # A prepared statement holds exactly one statement, whatever the text says.
        statement = await conn.prepare(sql)
        records = await statement.fetch()
        columns = [attribute.name for attribute in statement.get_attributes()]
    finally:
        # Never committed: even a session-level SET that got this far is undone.
        await transaction.rollback()
    return Result(columns, [tuple(record) for record in records])


# ---------------------------------------------------------------------------- names


class Newest(NamedTuple):
    """The newest conversion: names in the data can only have changed if this has."""

    id: int
    received_at: datetime


class Names(NamedTuple):
    partner: str | None
    partner_name: str | None
    offer_id: str | None
    offer_name: str | None


async def newest_conversion(conn: asyncpg.Connection, tenant_id: int | None) -> Newest | None:
    """Id and reception time of the newest conversion `tenant_id` may see (an index lookup)."""
    sql = guard.guard(
        "SELECT id, received_at FROM reporting.conversions ORDER BY id DESC LIMIT 1",
        tenant_id=tenant_id,
    )
    rows = (await run(conn, sql)).rows
    return Newest._make(rows[0]) if rows else None


async def names(conn: asyncpg.Connection, tenant_id: int | None, *, limit: int) -> list[Names]:
    """Every partner and offer `tenant_id` may see, in one pass over the view."""
    sql = guard.guard(
        "SELECT DISTINCT partner, partner_name, offer_id, offer_name FROM reporting.conversions",
        tenant_id=tenant_id,
        limit=limit,
    )
    return [Names._make(row) for row in (await run(conn, sql)).rows]


# ---------------------------------------------------------------------------- lookups


async def has_day_cells(conn: asyncpg.Connection, zone: str) -> bool:
    """Whether the compaction keeps day cells for `zone` (the reporting timezone, normally)."""
    sql = "SELECT EXISTS (SELECT FROM public.conversion_daily_zone WHERE zone = $1)"
    return bool(await conn.fetchval(sql, zone))


async def tenant_timezone(conn: asyncpg.Connection, tenant_id: int) -> str | None:
    """The partner's own reporting timezone, if it has one."""
    zone = await conn.fetchval("SELECT timezone FROM tenant WHERE id = $1", tenant_id)
    return None if zone is None else str(zone)


async def tenant_id(conn: asyncpg.Connection, slug: str) -> int | None:
    value = await conn.fetchval("SELECT id FROM tenant WHERE slug = $1", slug)
    return None if value is None else int(value)


# ---------------------------------------------------------------------------- conversations


SWEEP_SECONDS = 60.0
_swept = float("-inf")


class Conversation(NamedTuple):
    plan: dict[str, object]
    turns: int
    question: str  # the last question asked in it


async def conversation(
    conn: asyncpg.Connection, conversation_id: uuid.UUID, owner: str
) -> Conversation | None:
    """The conversation's last plan, when it is `owner`'s and has not expired."""
    row = await conn.fetchrow(
        "SELECT plan::text AS plan, turns, question FROM nlq_conversation"
        " WHERE id = $1 AND owner = $2 AND expires_at > now()",
        conversation_id,
        owner,
    )
    if row is None:
        return None
    return Conversation(json.loads(row["plan"]), int(row["turns"]), str(row["question"]))


async def start_conversation(
    conn: asyncpg.Connection,
    owner: str,
    tenant_id: int | None,
    plan: dict[str, object],
    question: str,
    *,
    seconds: int,
) -> uuid.UUID:
    """A new conversation holding `plan`; expired ones are dropped on the way (at most once
    a minute)."""
    global _swept
    conversation_id = uuid.uuid4()
    if time.monotonic() - _swept > SWEEP_SECONDS:
        _swept = time.monotonic()
        await conn.execute("DELETE FROM nlq_conversation WHERE expires_at < now()")
    await conn.execute(
        "INSERT INTO nlq_conversation (id, owner, tenant_id, plan, question, expires_at)"
        " VALUES ($1, $2, $3, $4::text::jsonb, $5, now() + make_interval(secs => $6))",
        conversation_id,
        owner,
        tenant_id,
        json.dumps(plan),
        question,
        seconds,
    )
    return conversation_id


async def continue_conversation(
    conn: asyncpg.Connection,
    conversation_id: uuid.UUID,
    owner: str,
    plan: dict[str, object],
    question: str,
    *,
    seconds: int,
) -> None:
    await conn.execute(
        "UPDATE nlq_conversation SET plan = $3::text::jsonb, question = $4, turns = turns + 1,"
        " updated_at = now(), expires_at = now() + make_interval(secs => $5)"
        " WHERE id = $1 AND owner = $2",
        conversation_id,
        owner,
        json.dumps(plan),
        question,
        seconds,
    )


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own (for `postback ask`), its session in UTC as the app's are."""
    conn = await asyncpg.connect(asyncpg_url(url), server_settings={"timezone": "UTC"})
    try:
        yield conn
    finally:
        await conn.close()
