"""All SQL of the write path: one batch of postbacks in a handful of set-based statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from postback.ingest.schemas import ROW_COLUMNS, ConversionRow, StoredConversion

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
_ARRAYS = ", ".join(f"${i}::{_TYPES.get(c, 'text')}[]" for i, c in enumerate(ROW_COLUMNS, 1))
_INPUT = f"unnest({_ARRAYS}) WITH ORDINALITY AS t({', '.join(ROW_COLUMNS)}, ord)"
_COLUMNS = ", ".join(ROW_COLUMNS)
_SELECTED = ", ".join(f"t.{c}::inet" if c == "source_ip" else f"t.{c}" for c in ROW_COLUMNS)

# First attempt for every row: stored as a first row unless its receipt is already stored
# (a replay) or, for a deduplicating tenant, a first row for its conversion_id exists.
# (The f-strings below only join this module's constant column names.)
INSERT_FIRST = f"""
INSERT INTO conversion ({_COLUMNS})
SELECT {_SELECTED} FROM {_INPUT}
ORDER BY t.ord
ON CONFLICT DO NOTHING
RETURNING id, receipt_id
"""

FIND_RECEIPTS = """
SELECT id, receipt_id, is_duplicate FROM conversion WHERE receipt_id = ANY($1::uuid[])
"""

# Rows whose first row exists are stored as duplicates linked to it, and in the same
# statement the first row takes the newest status sent (the history stays in the duplicates).
INSERT_DUPLICATES = f"""
WITH duplicate AS (
    INSERT INTO conversion ({_COLUMNS}, is_duplicate, first_id)
    SELECT {_SELECTED}, true, f.id FROM {_INPUT}
    JOIN conversion f ON f.tenant_id = t.tenant_id AND f.conversion_id = t.conversion_id
        AND f.deduplicated AND NOT f.is_duplicate
    ORDER BY t.ord
    ON CONFLICT DO NOTHING
    RETURNING id, receipt_id, first_id, status, status_raw
), newest AS (
    SELECT DISTINCT ON (first_id) first_id, status, status_raw
    FROM duplicate WHERE status_raw IS NOT NULL
    ORDER BY first_id, id DESC
), moved AS (
    UPDATE conversion f
    SET status = n.status, status_raw = n.status_raw, status_updated_at = now()
    FROM newest n
    WHERE f.id = n.first_id AND (f.status, f.status_raw) IS DISTINCT FROM (n.status, n.status_raw)
)
SELECT id, receipt_id FROM duplicate
"""

INSERT_REJECTIONS = """
INSERT INTO rejection (received_at, tenant_id, reason, errors, conversion_id, method,
                       source_ip, payload, raw_text)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::inet, $8::jsonb, $9)
"""

RECEIPT = ROW_COLUMNS.index("receipt_id")
_MAX_ROUNDS = 3


def _columns(rows: Sequence[ConversionRow]) -> list[Any]:
    return [list(column) for column in zip(*rows, strict=True)]


async def write_conversions(
    conn: asyncpg.Connection, rows: Sequence[ConversionRow]
) -> list[StoredConversion]:
    """Store `rows`; outcomes in the same order.

    Each statement is atomic on its own, so no surrounding transaction is needed: a crash
    between two of them leaves only rows whose senders were not yet answered and will retry.
    """
    stored: dict[Any, StoredConversion] = {}
    pending = list(rows)
    for _ in range(_MAX_ROUNDS):
        for record in await conn.fetch(INSERT_FIRST, *_columns(pending)):
            stored[record["receipt_id"]] = StoredConversion(record["id"], duplicate=False)
        pending = [r for r in pending if r[RECEIPT] not in stored]
        if not pending:
            break
        receipts = [r[RECEIPT] for r in pending]
        for record in await conn.fetch(FIND_RECEIPTS, receipts):
            stored[record["receipt_id"]] = StoredConversion(record["id"], record["is_duplicate"])
        pending = [r for r in pending if r[RECEIPT] not in stored]
        if not pending:
            break
        for record in await conn.fetch(INSERT_DUPLICATES, *_columns(pending)):
            stored[record["receipt_id"]] = StoredConversion(record["id"], duplicate=True)
        # Rows still pending lost their first row between two statements (deleted by
        # retention); the next round stores them as first rows.
        pending = [r for r in pending if r[RECEIPT] not in stored]
        if not pending:
            break
    missing = [r[RECEIPT] for r in rows if r[RECEIPT] not in stored]
    if missing:
        raise RuntimeError(f"could not store {len(missing)} conversions after retries")
    return [stored[r[RECEIPT]] for r in rows]


async def write_rejections(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    await conn.executemany(INSERT_REJECTIONS, rows)
