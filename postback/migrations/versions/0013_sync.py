"""change markers for the warehouse sync, and its watermarks

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

Every conversion row carries `change_xid`: the id of the transaction that last wrote it
(its default on insert, a trigger on update). A sync run reads in one snapshot and copies the
rows whose writer was not visible in its destination's previous snapshot (the watermark,
kept here as a `pg_snapshot`); the watermark becomes the run's snapshot once the destination
has confirmed. A transaction still running at a snapshot is not visible in it, whatever its
id, so a row committed later is always copied by a later run (docs/sync.md has the whole
argument).

The column is added without a default first (no table rewrite; rows already stored have
none, and the first sync of a destination copies everything), then given its default. On a
large live table, build the index first without blocking postbacks, then migrate:

    ALTER TABLE conversion ADD COLUMN IF NOT EXISTS change_xid xid8;
    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_conversion_change_xid ON conversion (change_xid);
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARK_CHANGE = """
CREATE OR REPLACE FUNCTION sync_mark_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END
$$
"""

WATERMARK = """
CREATE TABLE IF NOT EXISTS sync_watermark (
    destination text PRIMARY KEY,
    snapshot pg_snapshot NOT NULL,
    rows_copied bigint NOT NULL DEFAULT 0,
    synced_at timestamptz NOT NULL DEFAULT now()
)
"""


def upgrade() -> None:
    op.execute("ALTER TABLE conversion ADD COLUMN IF NOT EXISTS change_xid xid8")
    op.execute("ALTER TABLE conversion ALTER COLUMN change_xid SET DEFAULT pg_current_xact_id()")
    op.execute("CREATE INDEX IF NOT EXISTS ix_conversion_change_xid ON conversion (change_xid)")
    op.execute(MARK_CHANGE)
    op.execute("DROP TRIGGER IF EXISTS conversion_sync_mark ON conversion")
    op.execute(
        "CREATE TRIGGER conversion_sync_mark BEFORE UPDATE ON conversion"
        " FOR EACH ROW EXECUTE FUNCTION sync_mark_change()"
    )
    op.execute(WATERMARK)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS sync_watermark")
    op.execute("DROP TRIGGER IF EXISTS conversion_sync_mark ON conversion")
    op.execute("DROP FUNCTION IF EXISTS sync_mark_change()")
    op.execute("DROP INDEX IF EXISTS ix_conversion_change_xid")
    op.execute("ALTER TABLE conversion DROP COLUMN IF EXISTS change_xid")
