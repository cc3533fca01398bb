"""Rows to copy, and what the source tables and the copies hold, each read by its own SQL.

The expected figures come from the source tables (`conversion`, `tenant`) by queries written
here, not from postback/sync's query: a copy is right when both agree.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
import duckdb
import httpx

from postback.app import PostbackApp
from tests.factories import create_tenant, postback

ZONE = "Asia/Kuala_Lumpur"


class DayFigures(NamedTuple):
    partner: str
    day: str
    rows: int
    duplicates: int
    sales_usd: Decimal | None
    payouts_myr: Decimal | None


async def send(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.post("/postback/", data=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def receive_postbacks(app: PostbackApp, client: httpx.AsyncClient) -> None:
    """Real postbacks through the service: two partners, days, offers, statuses, repeats."""
    await create_tenant(app, "acme", ts_token="tok-acme")
    for n in range(24):
        day = 10 + n % 4
        hour = (n * 5) % 24
        fields = {
            "offer_id": f"{1000 + n % 3}",
            "datetime_conversion": f"2026-11-{day:02d} {hour:02d}:30:00",
            "usd_sale_amount": f"{n}.25",
            "myr_payout": f"{n * 3}.125",
            "status": ("pending", "approved", "rejected")[n % 3],
        }
        await send(client, **postback(f"D-{n}", **fields))
        await send(client, **postback(f"A-{n}", ts_token="tok-acme", **fields))
    # Repeats: flagged duplicates; a new status moves their first row's.
    await send(client, **postback("D-1", status="pending"))
    await send(client, **postback("A-2", ts_token="tok-acme", status="approved"))


async def insert_rows(db: asyncpg.Connection, count: int) -> None:
    """`count` rows for the default partner straight into the table (many, quickly)."""
    await db.execute(
        """
        INSERT INTO conversion (receipt_id, tenant_id, conversion_id, offer_id, status, raw,
                                received_at, deduplicated, usd_sale_amount, myr_payout)
        SELECT gen_random_uuid(), (SELECT id FROM tenant WHERE is_default), 'B-' || g,
               (g % 7)::text, 'pending', '{}',
               timestamptz '2026-11-01 00:00Z' + g * interval '97 seconds', true,
               g * 0.01, g * 0.001
        FROM generate_series(1, $1) AS g
        """,
        count,
    )


async def source_figures(db: asyncpg.Connection) -> set[DayFigures]:
    rows = await db.fetch(
        """
        SELECT t.slug, ((c.occurred_at AT TIME ZONE $1)::date)::text AS day, count(*) AS n,
               count(*) FILTER (WHERE c.is_duplicate) AS d,
               sum(c.usd_sale_amount) AS s, sum(c.myr_payout) AS p
        FROM conversion AS c JOIN tenant AS t ON t.id = c.tenant_id
        GROUP BY 1, 2
        """,
        ZONE,
    )
    return {DayFigures(r["slug"], r["day"], r["n"], r["d"], r["s"], r["p"]) for r in rows}


async def source_statuses(db: asyncpg.Connection) -> dict[tuple[str, str], str]:
    """Each (partner, conversion_id)'s current status: its first row's."""
    rows = await db.fetch(
        """
        SELECT t.slug, c.conversion_id, c.status
        FROM conversion AS c JOIN tenant AS t ON t.id = c.tenant_id
        WHERE NOT c.is_duplicate
        """
    )
    return {(r["slug"], r["conversion_id"]): r["status"] for r in rows}


async def source_ids(db: asyncpg.Connection) -> list[int]:
    return sorted(r["id"] for r in await db.fetch("SELECT id FROM conversion"))


class Copy:
    """What a copy holds, read with DuckDB: a Parquet directory or a DuckDB file."""

    def __init__(self, relation: str, database: Path | None = None) -> None:
        self._relation = relation
        self._database = database

    @classmethod
    def parquet(cls, root: Path) -> Copy:
        return cls(f"read_parquet('{root}/day=*/*.parquet', hive_partitioning = true)")

    @classmethod
    def duckdb(cls, path: Path) -> Copy:
        return cls("conversions", path)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        conn = duckdb.connect(
            str(self._database) if self._database else ":memory:", read_only=bool(self._database)
        )
        try:
            return conn.execute(sql.replace("ROWS", self._relation)).fetchall()
        finally:
            conn.close()

    def figures(self) -> set[DayFigures]:
        rows = self.query(
            "SELECT partner, day::text, count(*), count(*) FILTER (WHERE is_duplicate),"
            " sum(usd_sale_amount), sum(myr_payout) FROM ROWS GROUP BY 1, 2"
        )
        return {DayFigures(*row) for row in rows}

    def statuses(self) -> dict[tuple[str, str], str]:
        """(partner, conversion_id) → status, asserting all its rows agree."""
        found: dict[tuple[str, str], set[str]] = {}
        for partner, conversion_id, status in self.query(
            "SELECT partner, conversion_id, status FROM ROWS"
        ):
            found.setdefault((partner, conversion_id), set()).add(status)
        assert all(len(s) == 1 for s in found.values()), found
        return {key: next(iter(s)) for key, s in found.items()}

    def ids(self) -> list[int]:
        return sorted(row[0] for row in self.query("SELECT id FROM ROWS"))


def unique_name() -> str:
    return uuid.uuid4().hex[:8]
