"""day cells as a reporting view, for questions over whole days

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

`reporting.conversion_days` is every zone's day cells plus the deltas the compaction has not
folded yet (put in that zone's days), so summing it over whole local days of a listed zone
equals summing `reporting.conversions` over the same days, at every moment. The offline
engine reads it for questions it can answer from cells (counts and sums by partner, offer,
status, currency, day, week or month over whole days), as the same reporting role.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "postback_reporting"
MEASURES = (
    "conversions, duplicates, sales_usd, sales_myr, sales_local, payouts_usd, payouts_myr,"
    " payouts_local"
)

DAYS_VIEW = f"""
CREATE OR REPLACE VIEW reporting.conversion_days AS
SELECT c.zone,
       c.tenant_id,
       t.slug AS partner,
       t.name AS partner_name,
       c.day,
       c.offer_id,
       c.offer_name,
       c.status,
       c.currency,
       c.conversions,
       c.duplicates,
       c.sales_usd,
       c.sales_myr,
       c.sales_local,
       c.payouts_usd,
       c.payouts_myr,
       c.payouts_local
FROM (
    SELECT zone, tenant_id, day, offer_id, offer_name, status, currency, {MEASURES}
    FROM public.conversion_daily
    UNION ALL
    SELECT z.zone, d.tenant_id, date_trunc('day', d.hour, z.zone), d.offer_id, d.offer_name,
           d.status, d.currency, {MEASURES}
    FROM public.conversion_hourly_delta AS d CROSS JOIN public.conversion_daily_zone AS z
) AS c
LEFT JOIN public.tenant AS t ON t.id = c.tenant_id
"""


def upgrade() -> None:
    op.execute(DAYS_VIEW)
    op.execute("REVOKE ALL ON reporting.conversion_days FROM PUBLIC")
    op.execute(f"GRANT SELECT ON reporting.conversion_days TO {ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON reporting.conversion_days FROM {ROLE}")
    op.execute("DROP VIEW IF EXISTS reporting.conversion_days")
