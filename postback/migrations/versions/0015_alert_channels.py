"""alert channels: where alerts are sent (webhooks of Slack, Lark, DingTalk, WeCom, any JSON
receiver; email), and the durable queue of notifications to them

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

`alert_channel` is one destination: its kind, a webhook URL (or, for email, the recipients),
an optional signing secret (DingTalk), the partner it is limited to (NULL: every partner), the
least severity it is told about and the language of its messages.

`alert_notification` is the queue: one row per channel × alert × event (`opened`, or
`escalated` from warning to critical), queued by the same statement that opens or escalates
the alert, so none is lost between them. The delivery worker claims due rows (SKIP LOCKED),
sends them and keeps the outcome; a failure is retried on the forwarding schedule
(POSTBACK_FORWARD_RETRY_SECONDS), then the row is `dead`.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE alert_channel (
    id bigint GENERATED ALWAYS AS IDENTITY,
    name text NOT NULL,
    kind text NOT NULL,
    url text,
    secret text,
    recipients text[],
    tenant_id bigint REFERENCES tenant (id) ON DELETE CASCADE,
    min_severity text NOT NULL DEFAULT 'warning',
    language text NOT NULL DEFAULT 'en',
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_alert_channel PRIMARY KEY (id),
    CONSTRAINT ck_alert_channel_kind
        CHECK (kind IN ('slack', 'lark', 'dingtalk', 'wecom', 'webhook', 'email')),
    CONSTRAINT ck_alert_channel_target CHECK (
        CASE WHEN kind = 'email' THEN cardinality(recipients) > 0 AND url IS NULL
             ELSE url IS NOT NULL AND recipients IS NULL END),
    CONSTRAINT ck_alert_channel_min_severity CHECK (min_severity IN ('warning', 'critical')),
    CONSTRAINT ck_alert_channel_language CHECK (language IN ('en', 'zh'))
)""")
    op.execute("CREATE INDEX ix_alert_channel_tenant_id ON alert_channel (tenant_id)")
    op.execute("""
CREATE TABLE alert_notification (
    id bigint GENERATED ALWAYS AS IDENTITY,
    channel_id bigint NOT NULL REFERENCES alert_channel (id) ON DELETE CASCADE,
    alert_id bigint NOT NULL REFERENCES alert (id) ON DELETE CASCADE,
    event text NOT NULL,
    state text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error text,
    last_response text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    CONSTRAINT pk_alert_notification PRIMARY KEY (id),
    CONSTRAINT uq_alert_notification_event UNIQUE (channel_id, alert_id, event),
    CONSTRAINT ck_alert_notification_event CHECK (event IN ('opened', 'escalated')),
    CONSTRAINT ck_alert_notification_state CHECK (state IN ('pending', 'delivered', 'dead'))
)""")
    op.execute("""
CREATE INDEX ix_alert_notification_due ON alert_notification (next_attempt_at)
    WHERE state = 'pending'""")
    op.execute("CREATE INDEX ix_alert_notification_alert_id ON alert_notification (alert_id)")


def downgrade() -> None:
    op.execute("DROP TABLE alert_notification")
    op.execute("DROP TABLE alert_channel")
