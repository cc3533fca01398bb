"""Small fixtures for the safety tests: two partners with a few conversions and rejections
written straight into the tables, and a fingerprint of everything the database holds."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import sqlglot
from sqlglot import exp


@dataclass(frozen=True)
class Partners:
    mine: int
    other: int


async def seed_two_partners(db: asyncpg.Connection) -> Partners:
    """`mine` (3 conversions, one a duplicate; 1 rejection) and `other` (2 conversions,
    1 rejection); the names are chosen so a question about one can mention the other."""
    mine = await db.fetchval(
        "INSERT INTO tenant (slug, name) VALUES ('mine', 'Mine Media') RETURNING id"
    )
    other = await db.fetchval(
        "INSERT INTO tenant (slug, name) VALUES ('other', 'Other Ads') RETURNING id"
    )
    rows = [
        (mine, "M-1", "Shopee MY", "approved", "100.00", "5.00", False),
        (mine, "M-2", "Lazada SG", "pending", "50.00", "2.50", False),
        (mine, "M-2", "Lazada SG", "pending", "50.00", "2.50", True),
        (other, "O-1", "Shopee MY", "approved", "900.00", "90.00", False),
        (other, "O-2", "TikTok Shop MY", "rejected", "700.00", "70.00", False),
    ]
    for tenant_id, conversion_id, offer, status, sale, payout, duplicate in rows:
        await db.execute(
            """
            INSERT INTO conversion (receipt_id, tenant_id, conversion_id, offer_id, offer_name,
                status, myr_sale_amount, myr_payout, conversion_currency, raw, received_at,
                datetime_conversion, deduplicated, is_duplicate)
            VALUES (gen_random_uuid(), $1, $2, '1', $3, $4, $5::numeric, $6::numeric, 'MYR',
                '{}'::jsonb, now(), now() - interval '1 hour', true, $7)
            """,
            tenant_id,
            conversion_id,
            offer,
            status,
            sale,
            payout,
            duplicate,
        )
    for tenant_id, reason in ((mine, "invalid"), (other, "rate_limited")):
        await db.execute(
            "INSERT INTO rejection (tenant_id, reason, errors) VALUES ($1, $2, '[]'::jsonb)",
            tenant_id,
            reason,
        )
    return Partners(mine=mine, other=other)


async def fingerprint(db: asyncpg.Connection) -> tuple[object, ...]:
    """Everything a hostile query could change: rows of every table, the schemas, tables,
    roles and the role's rights."""
    return (
        tuple(await db.fetch("SELECT * FROM conversion ORDER BY id")),
        tuple(await db.fetch("SELECT * FROM rejection ORDER BY id")),
        tuple(await db.fetch("SELECT * FROM tenant ORDER BY id")),
        tuple(
            await db.fetch(
                "SELECT schemaname, tablename FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
            )
        ),
        tuple(
            await db.fetch(
                "SELECT table_schema, table_name, privilege_type FROM "
                "information_schema.role_table_grants WHERE grantee = 'postback_reporting' "
                "ORDER BY 1, 2, 3"
            )
        ),
        tuple(
            await db.fetch(
                "SELECT rolname, rolsuper, rolcanlogin, rolcreaterole FROM pg_roles "
                "WHERE rolname IN ('postback_reporting', current_user) ORDER BY 1"
            )
        ),
    )


def scoped_selects(sql: str, tenant_id: int) -> int:
    """Count the view references and check each is `(SELECT * FROM reporting.v WHERE
    tenant_id = N)`, nothing else in that SELECT."""
    tree = sqlglot.parse_one(sql, read="postgres")
    references = 0
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name in ctes and not table.db:
            continue
        assert table.db == "reporting"
        references += 1
        select = table.find_ancestor(exp.Select)
        assert select is not None
        assert not select.args.get("joins"), sql
        assert select.args["where"].sql(dialect="postgres") == f"WHERE tenant_id = {tenant_id}"
        assert [e.sql() for e in select.expressions] == ["*"]
    return references
