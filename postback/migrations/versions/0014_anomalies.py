"""anomaly scans: received-time hourly counts, the scan's watermark, alerts, sensitivity

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

`received_hourly` counts postbacks (and, on the partner's row, rejections) per partner ×
offer × UTC hour of *received* time: the rollups of 0002 are on conversion time, and delivery
health is judged on received time. The scan keeps it incrementally (it recounts only the
hours since its watermark in `anomaly_scan`), through the (tenant_id, received_at) indexes,
so a scan never reads the whole table. A row with offer_id NULL is the partner as a whole.

`alert` holds what the detectors found; at most one alert per partner × offer × kind is
not resolved (a partial unique index), so a finding repeated every minute updates it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE received_hourly (
    tenant_id bigint NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    offer_id text,
    hour timestamptz NOT NULL,
    postbacks bigint NOT NULL DEFAULT 0,
    rejections bigint NOT NULL DEFAULT 0,
    CONSTRAINT uq_received_hourly_cell UNIQUE NULLS NOT DISTINCT (tenant_id, offer_id, hour)
)""")
    op.execute("CREATE INDEX ix_received_hourly_hour ON received_hourly (hour)")
    # Each series' first hour and last postback, so a scan reads one row per series.
    op.execute("""
CREATE TABLE received_series (
    tenant_id bigint NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    offer_id text,
    first_hour timestamptz NOT NULL,
    last_received_at timestamptz NOT NULL,
    CONSTRAINT uq_received_series_key UNIQUE NULLS NOT DISTINCT (tenant_id, offer_id)
)""")
    op.execute("""
CREATE TABLE anomaly_scan (
    id smallint PRIMARY KEY CHECK (id = 1),
    received_through timestamptz NOT NULL,
    evaluated_hour timestamptz NOT NULL
)""")
    op.execute("""
CREATE TABLE anomaly_setting (
    tenant_id bigint PRIMARY KEY REFERENCES tenant (id) ON DELETE CASCADE,
    sensitivity double precision NOT NULL DEFAULT 1
        CONSTRAINT ck_anomaly_setting_sensitivity CHECK (sensitivity > 0 AND sensitivity <= 10)
)""")
    op.execute("""
CREATE TABLE alert (
    id bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id bigint NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    offer_id text,
    kind text NOT NULL,
    severity text NOT NULL,
    state text NOT NULL DEFAULT 'open',
    started_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    ended_at timestamptz,
    observed double precision NOT NULL,
    expected double precision,
    detail jsonb NOT NULL DEFAULT '{}',
    message_en text NOT NULL,
    message_zh text NOT NULL,
    findings integer NOT NULL DEFAULT 1,
    acknowledged_at timestamptz,
    resolved_at timestamptz,
    resolved_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_alert PRIMARY KEY (id),
    CONSTRAINT ck_alert_state CHECK (state IN ('open', 'acknowledged', 'resolved')),
    CONSTRAINT ck_alert_severity CHECK (severity IN ('warning', 'critical'))
)""")
    op.execute("""
CREATE UNIQUE INDEX uq_alert_active ON alert (tenant_id, kind, coalesce(offer_id, ''))
    WHERE state <> 'resolved'""")
    op.execute("CREATE INDEX ix_alert_tenant_id_started_at ON alert (tenant_id, started_at)")
    op.execute("CREATE INDEX ix_alert_started_at ON alert (started_at)")


def downgrade() -> None:
    op.execute("DROP TABLE alert")
    op.execute("DROP TABLE anomaly_setting")
    op.execute("DROP TABLE anomaly_scan")
    op.execute("DROP TABLE received_series")
    op.execute("DROP TABLE received_hourly")
