"""indexes to search conversions by their identifiers

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03

One btree per identifier (conversion_id, order_id, aff_sub..aff_sub4, adv_sub..adv_sub5) in
byte order (`text_pattern_ops`): it answers an exact match and a prefix range (`~>=~`, `~<~`)
whatever the database's collation. Every index but conversion_id's is partial (`IS NOT NULL`),
so a field a partner never fills costs no entry and no write on the hot path. The sub-ids'
indexes hold `left(field, 200)`: a value may have 2,048 characters, more than a btree entry
holds, and a postback must never be refused for the length of an index key.

On a large live table, build them first without blocking postbacks (a plain CREATE INDEX
holds inserts for the whole build), then run the migration, which finds them and skips them:

    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_conversion_conversion_id_search
        ON conversion (conversion_id text_pattern_ops);
    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_conversion_order_id_search
        ON conversion (order_id text_pattern_ops) WHERE order_id IS NOT NULL;
    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_conversion_aff_sub_search
        ON conversion (left(aff_sub, 200) text_pattern_ops) WHERE aff_sub IS NOT NULL;
    … and the same as aff_sub's for aff_sub2..4, adv_sub, adv_sub2..5.

(docs/search.md lists them all.) The migration also creates statistics on the sub-ids'
indexed expressions and analyses the table, so the planner knows how few rows a prefix finds.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The fields as of this revision (not imported from the models, which may change later).
FIELDS = (
    "conversion_id",
    "order_id",
    "aff_sub",
    "aff_sub2",
    "aff_sub3",
    "aff_sub4",
    "adv_sub",
    "adv_sub2",
    "adv_sub3",
    "adv_sub4",
    "adv_sub5",
)


# conversion_id and order_id hold at most 255 characters; the sub-ids up to 2,048, more than
# a btree entry may hold, so their indexes hold the first 200 characters (at most 800 bytes).
SHORT = ("conversion_id", "order_id")
KEY_LENGTH = 200


def create_statement(field: str) -> str:
    key = field if field in SHORT else f"left({field}, {KEY_LENGTH})"
    where = "" if field == "conversion_id" else f" WHERE {field} IS NOT NULL"
    return (
        f"CREATE INDEX IF NOT EXISTS ix_conversion_{field}_search"
        f" ON conversion ({key} text_pattern_ops){where}"
    )


def statistics_statement(field: str) -> str:
    """Statistics of a sub-id's indexed expression: without them the planner gives each prefix
    range a default 0.5% of the table (50,000 rows of 10 million, even for a sub-id nobody
    fills), so a prefix search walked the id index backwards for seconds to tens of seconds
    (docs/benchmarks-search.md)."""
    return (
        f"CREATE STATISTICS IF NOT EXISTS st_conversion_{field}_search"
        f" ON (left({field}, {KEY_LENGTH})) FROM conversion"
    )


def upgrade() -> None:
    for field in FIELDS:
        op.execute(create_statement(field))
        if field not in SHORT:
            op.execute(statistics_statement(field))
    # The statistics exist once analysed (a sample: seconds, and no lock on writes).
    op.execute("ANALYZE conversion")


def downgrade() -> None:
    for field in FIELDS:
        op.execute(f"DROP STATISTICS IF EXISTS st_conversion_{field}_search")
        op.execute(f"DROP INDEX IF EXISTS ix_conversion_{field}_search")
