"""retention keeps history: first rows lose their payload, not their row; rollups stay

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

- `conversion.raw` may be NULL: the retention clears a first row's raw payload once the
  partner's retention days have passed, and keeps the row (the business fact and its current
  status) for POSTBACK_HISTORY_DAYS (postback/lifecycle).
- The rollup triggers on UPDATE and DELETE of `conversion` do not fire while the session's
  `postback.keep_rollups` is `on`: the retention sets it on its own connection, so deleting
  duplicate rows and old first rows leaves the rollups' counts as they were (the retention
  deletes rollup cells by their hour instead).
- A partial index on the rows that still hold a payload, by partner and receipt time: what
  the retention looks for every round, without walking 400 days of cleared rows.

On a large live table, build the index first without blocking postbacks (a plain CREATE INDEX
holds inserts for the whole build), then run the migration, which finds it and skips it:

    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_conversion_detail
        ON conversion (tenant_id, received_at) WHERE raw IS NOT NULL;

The first cleanup after the upgrade clears the payloads of every first row past its partner's
retention: one UPDATE per 5,000 rows, each its own transaction.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = "WHEN (current_setting('postback.keep_rollups', true) IS DISTINCT FROM 'on')"


def _triggers(when: str) -> None:
    op.execute("DROP TRIGGER conversion_hourly_update ON conversion")
    op.execute("DROP TRIGGER conversion_hourly_delete ON conversion")
    op.execute(f"""
CREATE TRIGGER conversion_hourly_update AFTER UPDATE ON conversion
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT {when} EXECUTE FUNCTION conversion_hourly_updated()""")
    op.execute(f"""
CREATE TRIGGER conversion_hourly_delete AFTER DELETE ON conversion
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT {when} EXECUTE FUNCTION conversion_hourly_deleted()""")


def upgrade() -> None:
    op.execute("ALTER TABLE conversion ALTER COLUMN raw DROP NOT NULL")
    _triggers(WHEN)
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_conversion_detail ON conversion (tenant_id, received_at)"
        " WHERE raw IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_conversion_detail")
    _triggers("")
    op.execute("UPDATE conversion SET raw = '{}' WHERE raw IS NULL")
    op.execute("ALTER TABLE conversion ALTER COLUMN raw SET NOT NULL")
