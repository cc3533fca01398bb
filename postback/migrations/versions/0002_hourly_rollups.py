"""hourly rollups of conversions, kept exact by statement-level triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Grain: tenant × UTC hour of occurred_at × offer_id × status × currency. Triggers on
`conversion` (AFTER INSERT / UPDATE / DELETE, FOR EACH STATEMENT, with transition tables)
append aggregated deltas to `conversion_hourly_delta`, an insert-only table, so concurrent
writers never share a row lock. A compaction (postback/rollups) folds the deltas into
`conversion_hourly`; readers add both, so every answer is exact at every moment.

Lock order, everywhere: `conversion`, then `conversion_hourly_delta`, then
`conversion_hourly` (writers take the first two through the triggers, the compaction the
last two, a TRUNCATE of `conversion` all three).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEASURES = """
    conversions bigint NOT NULL DEFAULT 0,
    duplicates bigint NOT NULL DEFAULT 0,
    sales_usd numeric NOT NULL DEFAULT 0,
    sales_myr numeric NOT NULL DEFAULT 0,
    sales_local numeric NOT NULL DEFAULT 0,
    payouts_usd numeric NOT NULL DEFAULT 0,
    payouts_myr numeric NOT NULL DEFAULT 0,
    payouts_local numeric NOT NULL DEFAULT 0
"""

KEY = """
    tenant_id bigint NOT NULL,
    hour timestamptz NOT NULL,
    offer_id text,
    status text NOT NULL,
    currency text,
    offer_name text
"""

# One signed contribution per row: +1 for a row that now exists, -1 for one that no longer
# does (or no longer looks like this). First rows count as conversions with their amounts;
# duplicate rows only as duplicates.
AGGREGATE = """
    SELECT tenant_id, date_trunc('hour', occurred_at, 'UTC') AS hour, offer_id, status,
           conversion_currency AS currency,
           max(offer_name) FILTER (WHERE sign > 0 AND NOT is_duplicate) AS offer_name,
           coalesce(sum(sign) FILTER (WHERE NOT is_duplicate), 0) AS conversions,
           coalesce(sum(sign) FILTER (WHERE is_duplicate), 0) AS duplicates,
           coalesce(sum(sign * usd_sale_amount) FILTER (WHERE NOT is_duplicate), 0),
           coalesce(sum(sign * myr_sale_amount) FILTER (WHERE NOT is_duplicate), 0),
           coalesce(sum(sign * sale_amount_local) FILTER (WHERE NOT is_duplicate), 0),
           coalesce(sum(sign * usd_payout) FILTER (WHERE NOT is_duplicate), 0),
           coalesce(sum(sign * myr_payout) FILTER (WHERE NOT is_duplicate), 0),
           coalesce(sum(sign * payout_local) FILTER (WHERE NOT is_duplicate), 0)
    FROM ({rows}) AS changed
    GROUP BY 1, 2, 3, 4, 5
"""
COLUMNS = """tenant_id, hour, offer_id, status, currency, offer_name, conversions, duplicates,
    sales_usd, sales_myr, sales_local, payouts_usd, payouts_myr, payouts_local"""
ROW = """tenant_id, occurred_at, offer_id, status, conversion_currency, offer_name,
    is_duplicate, usd_sale_amount, myr_sale_amount, sale_amount_local, usd_payout, myr_payout,
    payout_local"""


def _trigger_function(name: str, rows: str, having: str = "") -> str:
    select = AGGREGATE.format(rows=rows) + having
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversion_hourly_delta ({COLUMNS})
    {select};
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    op.execute(f"""
CREATE TABLE conversion_hourly (
    id bigint GENERATED ALWAYS AS IDENTITY,
    {KEY},
    {MEASURES},
    CONSTRAINT pk_conversion_hourly PRIMARY KEY (id),
    CONSTRAINT uq_conversion_hourly_cell UNIQUE NULLS NOT DISTINCT
        (tenant_id, hour, offer_id, status, currency)
)""")
    op.execute("CREATE INDEX ix_conversion_hourly_hour ON conversion_hourly (hour)")
    op.execute(f"""
CREATE TABLE conversion_hourly_delta (
    {KEY},
    {MEASURES}
)""")
    op.execute(
        _trigger_function("conversion_hourly_inserted", f"SELECT {ROW}, 1 AS sign FROM new_rows")
    )
    op.execute(
        _trigger_function("conversion_hourly_deleted", f"SELECT {ROW}, -1 AS sign FROM old_rows")
    )
    # An UPDATE that changes nothing counted (only status_updated_at, say) leaves no delta.
    op.execute(
        _trigger_function(
            "conversion_hourly_updated",
            f"SELECT {ROW}, -1 AS sign FROM old_rows UNION ALL SELECT {ROW}, 1 FROM new_rows",
            """
    HAVING coalesce(sum(sign) FILTER (WHERE NOT is_duplicate), 0) <> 0
        OR coalesce(sum(sign) FILTER (WHERE is_duplicate), 0) <> 0
        OR coalesce(sum(sign * usd_sale_amount), 0) <> 0
        OR coalesce(sum(sign * myr_sale_amount), 0) <> 0
        OR coalesce(sum(sign * sale_amount_local), 0) <> 0
        OR coalesce(sum(sign * usd_payout), 0) <> 0
        OR coalesce(sum(sign * myr_payout), 0) <> 0
        OR coalesce(sum(sign * payout_local), 0) <> 0
        OR count(*) FILTER (WHERE sign > 0 AND offer_name IS NOT NULL) > 0""",
        ),
    )
    op.execute("""
CREATE FUNCTION conversion_hourly_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The compaction's order (deltas, then the rollup), so the two never deadlock.
    TRUNCATE conversion_hourly_delta, conversion_hourly;
    RETURN NULL;
END
$$""")
    op.execute("""
CREATE TRIGGER conversion_hourly_insert AFTER INSERT ON conversion
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION conversion_hourly_inserted()""")
    op.execute("""
CREATE TRIGGER conversion_hourly_update AFTER UPDATE ON conversion
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION conversion_hourly_updated()""")
    op.execute("""
CREATE TRIGGER conversion_hourly_delete AFTER DELETE ON conversion
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION conversion_hourly_deleted()""")
    op.execute("""
CREATE TRIGGER conversion_hourly_truncate AFTER TRUNCATE ON conversion
FOR EACH STATEMENT EXECUTE FUNCTION conversion_hourly_truncated()""")
    # Rows stored before this migration.
    op.execute(f"""
INSERT INTO conversion_hourly ({COLUMNS})
{AGGREGATE.format(rows=f"SELECT {ROW}, 1 AS sign FROM conversion")}""")


def downgrade() -> None:
    op.execute("DROP TRIGGER conversion_hourly_truncate ON conversion")
    op.execute("DROP TRIGGER conversion_hourly_delete ON conversion")
    op.execute("DROP TRIGGER conversion_hourly_update ON conversion")
    op.execute("DROP TRIGGER conversion_hourly_insert ON conversion")
    op.execute("DROP FUNCTION conversion_hourly_truncated()")
    op.execute("DROP FUNCTION conversion_hourly_updated()")
    op.execute("DROP FUNCTION conversion_hourly_deleted()")
    op.execute("DROP FUNCTION conversion_hourly_inserted()")
    op.execute("DROP TABLE conversion_hourly_delta")
    op.execute("DROP TABLE conversion_hourly")
