"""All SQL of the sync domain: the rows to copy (streamed by COPY), the
snapshot they are read in, and the watermarks (the previous run's snapshot).

The streaming side works on the asyncpg connection under a job's SQLAlchemy connection: COPY
hands the rows over chunk by chunk, so memory stays bounded whatever the table's size.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from postback.sync.rows import csv_select
from postback.sync.schemas import RowFilter

# A duplicate shows its first row's current status (the first row may be gone: retention
# removes first rows later than duplicates, so its own status is the fallback). The lateral
# lookup runs only for duplicates, through the primary key: OFFSET 0 keeps the planner from
# turning it into a hash join, which would hash the whole table (and, past work_mem, spill
# both sides of a 10-million-row join to disk) to find the first rows of 5% of the rows.
_SELECT = """
SELECT c.id,
       (c.occurred_at AT TIME ZONE $1)::date AS day,
       t.slug AS partner,
       c.tenant_id,
       c.conversion_id,
       c.order_id,
       c.offer_id,
       c.offer_name,
       coalesce(f.status, c.status) AS status,
       CASE WHEN f.status IS NULL THEN c.status_raw ELSE f.status_raw END AS status_raw,
       CASE WHEN f.status IS NULL THEN c.status_updated_at ELSE f.status_updated_at END
           AS status_updated_at,
       c.status AS received_status,
       c.is_duplicate,
       c.first_id,
       c.conversion_currency AS currency,
       c.sale_amount_local,
       c.myr_sale_amount,
       c.usd_sale_amount,
       c.payout_local,
       c.myr_payout,
       c.usd_payout,
       c.datetime_conversion,
       c.datetime_conversion_updated,
       c.occurred_at,
       c.received_at,
       c.aff_sub, c.aff_sub2, c.aff_sub3, c.aff_sub4,
       c.adv_sub, c.adv_sub2, c.adv_sub3, c.adv_sub4, c.adv_sub5
FROM conversion AS c
JOIN tenant AS t ON t.id = c.tenant_id
LEFT JOIN LATERAL (
    SELECT p.status, p.status_raw, p.status_updated_at FROM conversion AS p
    WHERE c.is_duplicate AND p.id = c.first_id
    OFFSET 0
) AS f ON true
"""

# Rows whose last writer the previous snapshot did not see, and the duplicates of first rows
# written so (their current status is the first row's). Every writer below the snapshot's
# xmin was visible or had failed, so the index on change_xid starts the search there.
_UNSEEN = (
    "{row}.change_xid >= pg_snapshot_xmin({snapshot})"
    " AND NOT pg_visible_in_snapshot({row}.change_xid, {snapshot})"
)
_CHANGED = """
c.id IN (
    SELECT s.id FROM conversion AS s WHERE {unseen_s}
    UNION
    SELECT d.id FROM conversion AS m JOIN conversion AS d ON d.first_id = m.id
    WHERE {unseen_m} AND NOT m.is_duplicate
)
"""


def select_rows(rows: RowFilter, zone: str) -> tuple[str, list[object]]:
    """The query for `rows` and its arguments ($1 is the reporting zone)."""
    args: list[object] = [zone]
    where: list[str] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if rows.changed_since is not None:
        snapshot = f"{arg(rows.changed_since)}::text::pg_snapshot"
        where.append(
            _CHANGED.format(
                unseen_s=_UNSEEN.format(row="s", snapshot=snapshot),
                unseen_m=_UNSEEN.format(row="m", snapshot=snapshot),
            )
        )
    if rows.since is not None:
        where.append(f"c.occurred_at >= {arg(rows.since)}::date::timestamp AT TIME ZONE $1")
    if rows.until is not None:
        where.append(f"c.occurred_at < ({arg(rows.until)}::date + 1)::timestamp AT TIME ZONE $1")
    if rows.partner is not None:
        where.append(f"t.slug = {arg(rows.partner)}")
    query = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
    return query, args


async def copy_rows(
    conn: asyncpg.Connection,
    rows: RowFilter,
    zone: str,
    output: Callable[[bytes], Awaitable[None]],
) -> None:
    """The rows as CSV (csv_select's columns), chunk by chunk into `output`; call inside a
    transaction. COPY waits while `output` works, so memory stays bounded."""
    query, args = select_rows(rows, zone)
    await conn.copy_from_query(csv_select(query), *args, output=output, format="csv")


async def snapshot(conn: asyncpg.Connection) -> str:
    """This transaction's snapshot (`xmin:xmax:running,…`): a writer it does not see either
    had not committed or was still running, and what it wrote is copied next time. Call as
    a REPEATABLE READ transaction's first statement (it is then the one every read uses)."""
    return str(await conn.fetchval("SELECT pg_current_snapshot()::text"))


async def watermark(conn: asyncpg.Connection, destination: str) -> str | None:
    value = await conn.fetchval(
        "SELECT snapshot::text FROM sync_watermark WHERE destination = $1", destination
    )
    return None if value is None else str(value)


async def save_watermark(
    conn: asyncpg.Connection, destination: str, snapshot: str, rows: int
) -> None:
    await conn.execute(
        """
        INSERT INTO sync_watermark AS w (destination, snapshot, rows_copied, synced_at)
        VALUES ($1, $2::text::pg_snapshot, $3, now())
        ON CONFLICT (destination) DO UPDATE
        SET snapshot = excluded.snapshot,
            rows_copied = w.rows_copied + excluded.rows_copied,
            synced_at = excluded.synced_at
        """,
        destination,
        snapshot,
        rows,
    )


async def oldest_uncopied(conn: AsyncConnection, destination: str) -> datetime:
    """The receipt time of the oldest row `destination` has not copied yet (every row when
    it never synced); now when it has copied everything."""
    query = text(
        """
        SELECT coalesce(
            (SELECT min(c.received_at) FROM conversion AS c
             WHERE w.snapshot IS NULL
                OR (c.change_xid >= pg_snapshot_xmin(w.snapshot)
                    AND NOT pg_visible_in_snapshot(c.change_xid, w.snapshot))),
            now())
        FROM (SELECT NULL) AS one
        LEFT JOIN sync_watermark AS w ON w.destination = :destination
        """
    )
    value: datetime = (await conn.execute(query, {"destination": destination})).scalar_one()
    return value


# The reporting views (migrations 0003 and 0005) and the role that may read them.
REPORTING_ROLE = "postback_reporting"
REPORTING_VIEWS = ("reporting.conversions", "reporting.rejections", "reporting.conversion_days")


async def role_exists(session: AsyncSession, name: str) -> bool:
    query = text("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :name)")
    return bool((await session.execute(query, {"name": name})).scalar_one())


async def create_reporting_login(session: AsyncSession, name: str, password: str) -> None:
    """A LOGIN role in `postback_reporting` (USAGE on the schema, SELECT on its views), read
    only, with a statement time limit. The statements are built by format() with %I and %L,
    so the name and password are quoted by PostgreSQL itself."""
    build = text(
        """
        SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', n, CAST(:password AS text)),
               format('GRANT postback_reporting TO %I', n),
               format('ALTER ROLE %I SET default_transaction_read_only = on', n),
               format('ALTER ROLE %I SET statement_timeout = %L', n, '120s'),
               format('ALTER ROLE %I SET search_path = reporting', n)
        FROM CAST(:name AS text) AS n
        """
    )
    statements = (await session.execute(build, {"name": name, "password": password})).one()
    for statement in statements:
        await session.execute(text(statement))
