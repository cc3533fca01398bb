"""daily rollups in a reporting timezone, folded together with the hourly ones

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

A month of the whole agency is some 150,000 hourly cells (partner × offer × status ×
currency × hour); summing them costs more than a dashboard request may. `conversion_daily`
holds the same cells by local day of a timezone, about 24 times fewer. Which timezones it
holds is listed in `conversion_daily_zone`: a zone is built from the hourly rollup once (by
the compaction, under its lock) and from then on every compaction folds each delta into the
hourly cell and into the day cell of every listed zone in the same statement, so a reader
that adds days, hours, pending deltas and raw edges is exact at every moment.

Lock order, everywhere: `conversion`, `conversion_hourly_delta`, `conversion_hourly`,
`conversion_daily`.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
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


def _truncate_function(tables: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION conversion_hourly_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The compaction's order (deltas, then the rollups), so they never deadlock.
    TRUNCATE {tables};
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    op.execute(f"""
CREATE TABLE conversion_daily (
    id bigint GENERATED ALWAYS AS IDENTITY,
    zone text NOT NULL,
    tenant_id bigint NOT NULL,
    day timestamptz NOT NULL,
    offer_id text,
    status text NOT NULL,
    currency text,
    offer_name text,
    {MEASURES},
    CONSTRAINT pk_conversion_daily PRIMARY KEY (id),
    CONSTRAINT uq_conversion_daily_cell UNIQUE NULLS NOT DISTINCT
        (zone, tenant_id, day, offer_id, status, currency)
)""")
    op.execute("CREATE INDEX ix_conversion_daily_zone_day ON conversion_daily (zone, day)")
    op.execute("""
CREATE TABLE conversion_daily_zone (
    zone text NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_conversion_daily_zone PRIMARY KEY (zone)
)""")
    op.execute(_truncate_function("conversion_hourly_delta, conversion_hourly, conversion_daily"))


def downgrade() -> None:
    op.execute(_truncate_function("conversion_hourly_delta, conversion_hourly"))
    op.execute("DROP TABLE conversion_daily_zone")
    op.execute("DROP TABLE conversion_daily")
