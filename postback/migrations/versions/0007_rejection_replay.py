"""rejections as a work queue (replay), per-partner parsing options

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

A rejection records whether it was replayed: when, by whom, the receipt id the replay stored
it under (the same every time for one rejection, so a replay is stored once) and the
conversion row it became. `raw_truncated` says that `raw_text` holds only the start of what
was sent (a body over the size limit, a query over its limit). A partial index keeps the
queue of rejections not yet replayed cheap to page through.

A partner's parsing options are for senders that cannot change: day-first dates
(`31/12/2026 23:59:59`) and decimal commas (`12,34`, `1.234,56`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tenant",
        sa.Column("day_first_dates", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "tenant",
        sa.Column("decimal_comma", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "rejection",
        sa.Column("raw_truncated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("rejection", sa.Column("replayed_at", sa.DateTime(timezone=True)))
    op.add_column("rejection", sa.Column("replayed_by", sa.Text()))
    op.add_column("rejection", sa.Column("replay_receipt_id", postgresql.UUID()))
    op.add_column("rejection", sa.Column("replayed_conversion_pk", sa.BigInteger()))
    op.create_index(
        "ix_rejection_unreplayed_received_at",
        "rejection",
        ["received_at"],
        postgresql_where=sa.text("replayed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_rejection_unreplayed_received_at",
        table_name="rejection",
        postgresql_where=sa.text("replayed_at IS NULL"),
    )
    for column in (
        "replayed_conversion_pk",
        "replay_receipt_id",
        "replayed_by",
        "replayed_at",
        "raw_truncated",
    ):
        op.drop_column("rejection", column)
    op.drop_column("tenant", "decimal_comma")
    op.drop_column("tenant", "day_first_dates")
