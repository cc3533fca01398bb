"""the audit log: who changed what, from where, before and after

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

One row per change, written in the change's own transaction. The actor is a kind (admin
token, partner API key, user, CLI), a label and a user id that personal accounts will fill;
`tenant_id` and `actor_user_id` are plain columns (no foreign keys), so an entry outlives the
partner or user it names. `before` and `after` hold JSON with every secret masked.

Indexes: `created_at` for retention (POSTBACK_AUDIT_DAYS), `(tenant_id, id)` for a partner's
entries newest first, `action text_pattern_ops` for an action prefix, `(target_kind,
target_id)` for one object's history; the primary key orders everything else.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("actor_kind", sa.Text(), nullable=False),
        sa.Column("actor_label", sa.Text(), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger()),
        sa.Column("client_ip", sa.Text()),
        sa.Column("user_agent", sa.Text()),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target_kind", sa.Text(), nullable=False),
        sa.Column("target_id", sa.Text()),
        sa.Column("target_name", sa.Text()),
        sa.Column("tenant_id", sa.BigInteger()),
        sa.Column("before", postgresql.JSONB()),
        sa.Column("after", postgresql.JSONB()),
        sa.CheckConstraint(
            "actor_kind IN ('admin_token', 'api_key', 'user', 'cli')",
            name=op.f("ck_audit_entry_actor_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    op.create_index("ix_audit_entry_created_at", "audit_entry", ["created_at"])
    op.create_index("ix_audit_entry_tenant_id_id", "audit_entry", ["tenant_id", "id"])
    op.create_index("ix_audit_entry_action", "audit_entry", [sa.text("action text_pattern_ops")])
    op.create_index("ix_audit_entry_target", "audit_entry", ["target_kind", "target_id"])


def downgrade() -> None:
    op.drop_table("audit_entry")
