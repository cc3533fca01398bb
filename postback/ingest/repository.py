"""All SQL of the write path: one batch of postbacks in a handful of set-based statements."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import orjson

from postback.ingest.schemas import ROW_COLUMNS, ConversionRow, RejectionRow, StoredConversion

# Errors that mean the database cannot be reached or the connection broke: the whole batch
# is retryable elsewhere (the sender retries, or the spool keeps it).
UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    # A connection the server closed mid-operation (a fast shutdown) can be left in a protocol
    # state asyncpg refuses to use: "cannot switch to state 12; another operation (2) is in
    # progress". Retrying the batch elsewhere is safe: rows are stored by receipt id, once.
    asyncpg.InternalClientError,
)

_TYPES = {
    "receipt_id": "uuid",
    "tenant_id": "int8",
    "datetime_conversion": "timestamptz",
    "datetime_conversion_updated": "timestamptz",
    "sale_amount_local": "numeric",
    "myr_sale_amount": "numeric",
    "usd_sale_amount": "numeric",
    "payout_local": "numeric",
    "myr_payout": "numeric",
    "usd_payout": "numeric",
    "raw": "jsonb",
    "received_at": "timestamptz",
    "deduplicated": "bool",
}
_DEFINITION = ", ".join(f"{c} {_TYPES.get(c, 'text')}" for c in ROW_COLUMNS)
_COLUMNS = ", ".join(ROW_COLUMNS)
_SELECTED = ", ".join(f"t.{c}::inet" if c == "source_ip" else f"t.{c}" for c in ROW_COLUMNS)
# The batch travels as one JSON array of objects ($1): one parameter to encode instead of a
# typed array per column, which is most of the driver's work per row.
_INPUT = f"""input AS MATERIALIZED (
    SELECT * FROM ROWS FROM (json_to_recordset($1::json) AS ({_DEFINITION}))
    WITH ORDINALITY AS t({_COLUMNS}, ord)
)"""

# While `on` in a transaction (SET LOCAL), its writes queue no forward deliveries: an import
# of history stores conversions without calling the partners' trackers (lifecycle/importer.py).
NO_FORWARDS = "postback.no_forwards"

# The statement nearly every batch needs, and the only one when no row repeats a conversion of
# the same batch: each row is stored as a first row, or, when a first row for its conversion_id
# was already committed (a deduplicating tenant), as a duplicate linked to it, and then the first
# row takes the newest status sent (the history stays in the duplicates). In the same statement
# each new first row (`created`) and each first row whose status moved (`status_changed`) gets
# one delivery per matching forward of its partner, so no conversion is ever stored without
# its outgoing postbacks (postback/forwarding). Rows whose receipt is
# already stored (a replay) are skipped by ON CONFLICT and come back as not returned.
# `duplicate` reads `fresh` in full first, so a row `fresh` stored is never also a duplicate.
# Rows go in by (tenant, conversion id), then arrival: every writer takes the unique keys of a
# conversion in the same order, so two batches sharing conversions wait on each other at most
# one way and never deadlock; the rows of one conversion still get ids in arrival order.
# (The f-strings below only join this module's constant column names.)
WRITE = f"""
WITH {_INPUT}, fresh AS (
    INSERT INTO conversion ({_COLUMNS})
    SELECT {_SELECTED} FROM input t
    ORDER BY t.tenant_id, t.conversion_id, t.ord
    ON CONFLICT DO NOTHING
    RETURNING id, receipt_id, tenant_id, status, offer_id
), duplicate AS (
    INSERT INTO conversion ({_COLUMNS}, is_duplicate, first_id)
    SELECT {_SELECTED}, true, f.id FROM input t
    CROSS JOIN LATERAL (
        SELECT id FROM conversion f
        WHERE f.tenant_id = t.tenant_id AND f.conversion_id = t.conversion_id
            AND f.deduplicated AND NOT f.is_duplicate
        LIMIT 1
    ) f
    WHERE t.deduplicated AND t.receipt_id NOT IN (SELECT receipt_id FROM fresh)
    ORDER BY t.tenant_id, t.conversion_id, t.ord
    ON CONFLICT DO NOTHING
    RETURNING id, receipt_id, first_id, status, status_raw
), newest AS (
    SELECT DISTINCT ON (first_id) first_id, status, status_raw
    FROM duplicate WHERE status_raw IS NOT NULL
    ORDER BY first_id, id DESC
), moved AS (
    -- The ANY condition keeps the first rows found by index whatever join the planner picks.
    UPDATE conversion f
    SET status = n.status, status_raw = n.status_raw, status_updated_at = now()
    FROM newest n
    WHERE f.id = n.first_id AND f.id = ANY (ARRAY(SELECT first_id FROM newest))
        AND (f.status, f.status_raw) IS DISTINCT FROM (n.status, n.status_raw)
    RETURNING f.id, f.tenant_id, f.status, f.offer_id
), event AS (
    SELECT id, tenant_id, status, offer_id, 'created' AS name FROM fresh
    UNION ALL
    SELECT id, tenant_id, status, offer_id, 'status_changed' FROM moved
), queued AS (
    -- One delivery per matching forward: stored with the conversion or not at all.
    INSERT INTO delivery (forward_id, tenant_id, conversion_row_id, event, status)
    SELECT w.id, e.tenant_id, e.id, e.name, e.status
    FROM event e
    JOIN forward w ON w.tenant_id = e.tenant_id AND w.enabled AND e.name = ANY (w.events)
        AND (w.statuses IS NULL OR e.status = ANY (w.statuses))
        AND (w.offers IS NULL OR e.offer_id = ANY (w.offers))
    WHERE current_setting('{NO_FORWARDS}', true) IS DISTINCT FROM 'on'
    ORDER BY w.id, e.id
    ON CONFLICT DO NOTHING
)
SELECT id, receipt_id, false AS duplicate FROM fresh
UNION ALL
SELECT id, receipt_id, true FROM duplicate
"""

FIND_RECEIPTS = """
SELECT id, receipt_id, is_duplicate FROM conversion WHERE receipt_id = ANY($1::uuid[])
"""

INSERT_REJECTIONS = """
INSERT INTO rejection (received_at, tenant_id, reason, errors, conversion_id, method,
                       source_ip, payload, raw_text, raw_truncated)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::inet, $8::jsonb, $9, $10)
"""

_MAX_ROUNDS = 3


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be sent in a batch")


def batch_document(rows: Sequence[ConversionRow]) -> str:
    """The rows as the JSON the write statement reads; `raw` (already JSON) goes in as is."""
    objects = []
    for row in rows:
        item = row._asdict()
        item["raw"] = orjson.Fragment(row.raw)
        objects.append(item)
    return orjson.dumps(objects, default=_json_default).decode()


async def write_conversions(
    conn: asyncpg.Connection, rows: Sequence[ConversionRow]
) -> list[StoredConversion]:
    """Store `rows`; outcomes in the same order.

    One statement in the common case. Each statement is atomic on its own, so no surrounding
    transaction is needed: a crash between two of them leaves only rows whose senders were not
    yet answered and will retry.
    """
    stored: dict[Any, StoredConversion] = {}
    pending = list(rows)
    for _ in range(_MAX_ROUNDS):
        for record in await conn.fetch(WRITE, batch_document(pending)):
            stored[record["receipt_id"]] = StoredConversion(record["id"], record["duplicate"])
        pending = [r for r in pending if r.receipt_id not in stored]
        if not pending:
            break
        # Repeats of a conversion first stored in this very batch: their first row is
        # committed now, so the same statement links them.
        for record in await conn.fetch(WRITE, batch_document(pending)):
            stored[record["receipt_id"]] = StoredConversion(record["id"], record["duplicate"])
        pending = [r for r in pending if r.receipt_id not in stored]
        if not pending:
            break
        # What is left was stored before: a replay of the same receipt.
        receipts = [r.receipt_id for r in pending]
        for record in await conn.fetch(FIND_RECEIPTS, receipts):
            stored[record["receipt_id"]] = StoredConversion(record["id"], record["is_duplicate"])
        pending = [r for r in pending if r.receipt_id not in stored]
        if not pending:
            break
    missing = [r.receipt_id for r in rows if r.receipt_id not in stored]
    if missing:
        raise RuntimeError(f"could not store {len(missing)} conversions after retries")
    return [stored[r.receipt_id] for r in rows]


async def write_rejections(conn: asyncpg.Connection, rows: Sequence[RejectionRow]) -> None:
    await conn.executemany(INSERT_REJECTIONS, rows)


_Row = TypeVar("_Row")
_Result = TypeVar("_Result")


async def _row_by_row(
    write: Callable[[asyncpg.Connection, Sequence[_Row]], Awaitable[list[_Result]]],
    conn: asyncpg.Connection,
    rows: Sequence[_Row],
) -> list[_Result | asyncpg.PostgresError]:
    """`write(conn, rows)`; when the database refuses the batch for a data reason, the rows
    one by one, so one bad row cannot sink its neighbours: each refused row's place holds the
    database's error. Connection errors (UNAVAILABLE) are raised: the batch is retryable."""
    try:
        return list(await write(conn, rows))
    except UNAVAILABLE:
        raise
    except asyncpg.PostgresError as exc:
        if len(rows) == 1:
            return [exc]
    results: list[_Result | asyncpg.PostgresError] = []
    for row in rows:
        results += await _row_by_row(write, conn, [row])
    return results


async def store_rows(
    conn: asyncpg.Connection, rows: Sequence[ConversionRow]
) -> list[StoredConversion | asyncpg.PostgresError]:
    """Store conversion rows (`write_conversions`), row by row if the batch is refused: the
    outcome of each row in order, or the database's error for a row it refuses."""
    return await _row_by_row(write_conversions, conn, rows)


async def _write_rejections(conn: asyncpg.Connection, rows: Sequence[RejectionRow]) -> list[None]:
    await write_rejections(conn, rows)
    return [None] * len(rows)


async def store_rejections(
    conn: asyncpg.Connection, rows: Sequence[RejectionRow]
) -> list[asyncpg.PostgresError | None]:
    """Store rejection rows, row by row if the batch is refused (as `store_rows`)."""
    return await _row_by_row(_write_rejections, conn, rows)
