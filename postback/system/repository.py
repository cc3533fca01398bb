"""All SQL of the system domain: the database's reachability and the tables' sizes."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

TABLES = ("tenant", "conversion", "rejection")


PING_SECONDS = 3.0


async def ping(pool: asyncpg.Pool) -> None:
    """Raises when the database cannot answer a trivial query within PING_SECONDS."""
    async with pool.acquire(timeout=PING_SECONDS) as conn:
        await conn.fetchval("SELECT 1", timeout=PING_SECONDS)


async def estimated_rows(conn: asyncpg.Connection, table: str) -> int | None:
    """The planner's estimate of a table's rows (None or negative before the first analyze)."""
    value: int | None = await conn.fetchval(
        "SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass", table
    )
    return value


async def counted_rows(conn: asyncpg.Connection, table: str) -> int:
    """A table's rows, counted; `table` is one of TABLES."""
    if table not in TABLES:
        raise ValueError(f"not a table of the service: {table!r}")
    return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608


async def revision(conn: asyncpg.Connection) -> str | None:
    """The schema's migration revision (None before the first migration)."""
    exists = await conn.fetchval("SELECT to_regclass('public.alembic_version') IS NOT NULL")
    if not exists:
        return None
    value: str | None = await conn.fetchval("SELECT version_num FROM alembic_version")
    return value


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def table_counts(conn: asyncpg.Connection) -> dict[str, int]:
    """Every base table of the database's own schemas, counted exactly. Temporary tables
    (any session's) are no part of what is moved, and another session's cannot be read."""
    tables = await conn.fetch(
        "SELECT n.nspname AS schemaname, c.relname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'm') AND c.relpersistence <> 't'"
        " AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
        " ORDER BY 1, 2"
    )
    counts = {}
    for row in tables:
        name = f"{_quoted(row['schemaname'])}.{_quoted(row['relname'])}"
        counts[f"{row['schemaname']}.{row['relname']}"] = int(
            await conn.fetchval(f"SELECT count(*) FROM {name}")  # noqa: S608 (catalog names)
        )
    return counts


PARTNER_FIGURES = """
SELECT t.slug,
       count(c.id) AS rows,
       count(c.id) FILTER (WHERE NOT c.is_duplicate) AS first_rows,
       count(c.id) FILTER (WHERE c.is_duplicate) AS duplicates,
       coalesce(sum(c.usd_payout) FILTER (WHERE NOT c.is_duplicate), 0) AS usd_payout,
       coalesce(sum(c.myr_payout) FILTER (WHERE NOT c.is_duplicate), 0) AS myr_payout,
       coalesce(sum(c.usd_sale_amount) FILTER (WHERE NOT c.is_duplicate), 0) AS usd_sale_amount,
       coalesce(sum(c.myr_sale_amount) FILTER (WHERE NOT c.is_duplicate), 0) AS myr_sale_amount,
       (SELECT coalesce(string_agg(s.status || '=' || s.n, ' ' ORDER BY s.status), '')
          FROM (SELECT status, count(*) AS n FROM conversion
                 WHERE tenant_id = t.id AND NOT is_duplicate GROUP BY status) s) AS statuses,
       (SELECT count(*) FROM rejection r WHERE r.tenant_id = t.id) AS rejections,
       max(c.received_at) AS last_received_at
  FROM tenant t
  LEFT JOIN conversion c ON c.tenant_id = t.id
 GROUP BY t.id, t.slug
 ORDER BY t.slug
"""


async def partner_figures(conn: asyncpg.Connection) -> dict[str, dict[str, object]]:
    """Per partner slug: its rows, first rows, duplicates, amounts of first rows, statuses,
    rejections and the newest receipt."""
    rows = await conn.fetch(PARTNER_FIGURES)
    return {row["slug"]: {k: v for k, v in row.items() if k != "slug"} for row in rows}


@dataclass(frozen=True, slots=True)
class SequenceGap:
    sequence: str
    table: str
    column: str
    next_value: int
    highest: int


SEQUENCES = """
SELECT n.nspname AS schema, s.relname AS sequence, t.relname AS "table", a.attname AS "column"
  FROM pg_class s
  JOIN pg_namespace n ON n.oid = s.relnamespace
  JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
                  AND d.deptype IN ('a', 'i')
  JOIN pg_class t ON t.oid = d.refobjid
  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
 WHERE s.relkind = 'S'
 ORDER BY 1, 2
"""


async def sequence_gaps(conn: asyncpg.Connection) -> list[SequenceGap]:
    """Each column sequence with the value it hands out next and its column's highest value:
    a restore that left a sequence behind would make the next insert collide."""
    found = []
    for row in await conn.fetch(SEQUENCES):
        schema, sequence = _quoted(row["schema"]), _quoted(row["sequence"])
        state = await conn.fetchrow(
            f"SELECT last_value, is_called FROM {schema}.{sequence}"  # noqa: S608
        )
        next_value = int(state["last_value"]) + (1 if state["is_called"] else 0)
        highest = await conn.fetchval(
            f"SELECT coalesce(max({_quoted(row['column'])}), 0) "  # noqa: S608
            f"FROM {schema}.{_quoted(row['table'])}"
        )
        found.append(
            SequenceGap(row["sequence"], row["table"], row["column"], next_value, int(highest))
        )
    return found


async def reporting_role_reads(conn: asyncpg.Connection) -> bool:
    """Whether the question engine's role exists and may read the reporting views."""
    return bool(
        await conn.fetchval(
            "SELECT CASE WHEN to_regrole('postback_reporting') IS NULL "
            "  OR to_regclass('reporting.conversions') IS NULL "
            "  OR to_regclass('reporting.rejections') IS NULL THEN false "
            "ELSE has_table_privilege('postback_reporting', 'reporting.conversions', 'SELECT') "
            "  AND has_table_privilege('postback_reporting', 'reporting.rejections', 'SELECT') "
            "END"
        )
    )
