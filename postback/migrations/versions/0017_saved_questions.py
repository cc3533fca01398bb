"""saved questions (dashboard tiles) and their scheduled reports

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

`saved_question` is a question someone kept: its owner (role, partner and personal account as
one key, as `nlq_conversation` has it; the partner and the account also as references, so
their questions go with them), a title, the question as asked, its language, the plan it was
answered by (JSON; its relative periods are read again at each run) and the tile's position.

`report_schedule` sends a saved question's answer to an alert channel every day, or every
week on one weekday, at an hour of the reporting timezone. `next_run_at` is the next such
moment; the report job claims due rows (SKIP LOCKED) and moves it on before sending.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE saved_question (
    id bigint GENERATED ALWAYS AS IDENTITY,
    owner text NOT NULL,
    tenant_id bigint REFERENCES tenant (id) ON DELETE CASCADE,
    user_id bigint REFERENCES app_user (id) ON DELETE CASCADE,
    title text NOT NULL,
    question text NOT NULL,
    language text NOT NULL,
    plan jsonb NOT NULL,
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_saved_question PRIMARY KEY (id),
    CONSTRAINT ck_saved_question_title CHECK (char_length(title) BETWEEN 1 AND 120),
    CONSTRAINT ck_saved_question_language CHECK (language IN ('en', 'zh'))
)""")
    op.execute("CREATE INDEX ix_saved_question_owner ON saved_question (owner, position, id)")
    op.execute("CREATE INDEX ix_saved_question_tenant_id ON saved_question (tenant_id)")
    op.execute("CREATE INDEX ix_saved_question_user_id ON saved_question (user_id)")
    op.execute("""
CREATE TABLE report_schedule (
    id bigint GENERATED ALWAYS AS IDENTITY,
    saved_question_id bigint NOT NULL REFERENCES saved_question (id) ON DELETE CASCADE,
    cadence text NOT NULL,
    weekday smallint,
    hour smallint NOT NULL,
    channel_id bigint NOT NULL REFERENCES alert_channel (id) ON DELETE CASCADE,
    enabled boolean NOT NULL DEFAULT true,
    next_run_at timestamptz NOT NULL,
    last_run_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_report_schedule PRIMARY KEY (id),
    CONSTRAINT ck_report_schedule_cadence CHECK (cadence IN ('daily', 'weekly')),
    CONSTRAINT ck_report_schedule_weekday CHECK (
        CASE WHEN cadence = 'weekly' THEN weekday BETWEEN 0 AND 6 ELSE weekday IS NULL END),
    CONSTRAINT ck_report_schedule_hour CHECK (hour BETWEEN 0 AND 23)
)""")
    op.execute("""
CREATE INDEX ix_report_schedule_due ON report_schedule (next_run_at) WHERE enabled""")
    op.execute(
        "CREATE INDEX ix_report_schedule_saved_question_id ON report_schedule (saved_question_id)"
    )
    op.execute("CREATE INDEX ix_report_schedule_channel_id ON report_schedule (channel_id)")


def downgrade() -> None:
    op.execute("DROP TABLE report_schedule")
    op.execute("DROP TABLE saved_question")
