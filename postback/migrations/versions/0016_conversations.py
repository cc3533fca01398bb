"""nlq conversations: the plan of a thread's last question, so a follow-up is read against it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

A row per conversation of `POST /api/nlq`: who owns it (role, partner, personal account, as
one key; the partner also as a reference, so its conversations go with it), the plan of the
last question answered (JSON), and when it expires. Only its owner can read it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE nlq_conversation (
    id uuid PRIMARY KEY,
    owner text NOT NULL,
    tenant_id bigint REFERENCES tenant (id) ON DELETE CASCADE,
    plan jsonb NOT NULL,
    question text NOT NULL,
    turns integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
)""")
    op.execute("CREATE INDEX ix_nlq_conversation_expires_at ON nlq_conversation (expires_at)")
    op.execute("CREATE INDEX ix_nlq_conversation_tenant_id ON nlq_conversation (tenant_id)")


def downgrade() -> None:
    op.execute("DROP TABLE nlq_conversation")
