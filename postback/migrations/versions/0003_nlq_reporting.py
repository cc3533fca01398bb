"""reporting views and the read-only role for natural-language questions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Questions are answered by SQL that reads two views in the `reporting` schema, as the role
`postback_reporting`, which may read those views and nothing else. The views run with
their owner's rights, so the role needs no right on the tables themselves; they leave out
what a report never needs (raw request, source IP, receipt and dedup bookkeeping).

Roles belong to the whole PostgreSQL cluster, not to one database: the role is created
only when missing (several databases on one server share it), and a downgrade leaves it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "postback_reporting"

CONVERSIONS_VIEW = """
CREATE OR REPLACE VIEW reporting.conversions AS
SELECT c.id,
       c.tenant_id,
       t.slug AS partner,
       t.name AS partner_name,
       c.conversion_id,
       c.order_id,
       c.offer_id,
       c.offer_name,
       c.status,
       c.status_raw,
       c.conversion_currency AS currency,
       c.sale_amount_local,
       c.usd_sale_amount,
       c.myr_sale_amount,
       c.payout_local,
       c.usd_payout,
       c.myr_payout,
       c.occurred_at,
       c.received_at,
       c.status_updated_at,
       c.is_duplicate,
       c.aff_sub,
       c.aff_sub2,
       c.aff_sub3,
       c.aff_sub4,
       c.adv_sub,
       c.adv_sub2,
       c.adv_sub3,
       c.adv_sub4,
       c.adv_sub5
FROM public.conversion AS c
LEFT JOIN public.tenant AS t ON t.id = c.tenant_id
"""
# LEFT JOIN on the tenant's primary key: when a query uses no partner column, PostgreSQL
# removes the join altogether.

REJECTIONS_VIEW = """
CREATE OR REPLACE VIEW reporting.rejections AS
SELECT r.id,
       r.tenant_id,
       t.slug AS partner,
       r.received_at,
       r.reason,
       r.conversion_id
FROM public.rejection AS r
LEFT JOIN public.tenant AS t ON t.id = r.tenant_id
"""

# Two databases migrating at once on one server may both find the role missing: the loser
# of that race sees duplicate_object (or unique_violation on the catalog) and carries on.
CREATE_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'postback_reporting') THEN
        CREATE ROLE postback_reporting NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$
"""

# The connecting user must be able to `SET LOCAL ROLE postback_reporting` (a superuser
# always can). GRANT again is harmless when it is already a member.
GRANT_MEMBERSHIP = """
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT postback_reporting TO %I', current_user);
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'cannot grant role postback_reporting to %: as a superuser run GRANT postback_reporting TO %',
            current_user, current_user;
END
$$
"""


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS reporting")
    op.execute(CONVERSIONS_VIEW)
    op.execute(REJECTIONS_VIEW)
    op.execute(CREATE_ROLE)
    op.execute(GRANT_MEMBERSHIP)
    op.execute("REVOKE ALL ON SCHEMA reporting FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA reporting TO {ROLE}")
    op.execute("REVOKE ALL ON reporting.conversions, reporting.rejections FROM PUBLIC")
    op.execute(f"GRANT SELECT ON reporting.conversions, reporting.rejections TO {ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON reporting.conversions, reporting.rejections FROM {ROLE}")
    op.execute(f"REVOKE ALL ON SCHEMA reporting FROM {ROLE}")
    op.execute("DROP VIEW IF EXISTS reporting.rejections")
    op.execute("DROP VIEW IF EXISTS reporting.conversions")
    op.execute("DROP SCHEMA IF EXISTS reporting")
