"""forwarding: partners' outgoing postbacks, one delivery per event, every attempt

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

A `forward` is where a partner wants its conversions sent. The write statement that stores a
batch of postbacks (postback/ingest/repository.py) also inserts one `delivery` per matching
forward and event (`created` for a new first row, `status_changed` when a first row takes a
new status), so a conversion is never stored without its deliveries. Workers in every
instance take due deliveries with `FOR UPDATE SKIP LOCKED` and keep each try in
`delivery_attempt`.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


UPGRADE = """
        CREATE TABLE forward (
            id bigserial CONSTRAINT pk_forward PRIMARY KEY,
            tenant_id bigint NOT NULL
                CONSTRAINT fk_forward_tenant_id_tenant REFERENCES tenant (id) ON DELETE CASCADE,
            url text NOT NULL,
            method text NOT NULL DEFAULT 'GET'
                CONSTRAINT ck_forward_method CHECK (method IN ('GET', 'POST')),
            events text[] NOT NULL
                CONSTRAINT ck_forward_events CHECK (
                    cardinality(events) > 0
                    AND events <@ ARRAY['created', 'status_changed']::text[]),
            statuses text[],
            offers text[],
            payout_percent numeric
                CONSTRAINT ck_forward_payout_percent CHECK (payout_percent BETWEEN 0 AND 100),
            signing_secret text,
            enabled boolean NOT NULL DEFAULT true,
            dead_in_a_row integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_forward_tenant_id ON forward (tenant_id);

        CREATE TABLE delivery (
            id bigserial CONSTRAINT pk_delivery PRIMARY KEY,
            forward_id bigint NOT NULL
                CONSTRAINT fk_delivery_forward_id_forward REFERENCES forward (id)
                ON DELETE CASCADE,
            tenant_id bigint NOT NULL,
            conversion_row_id bigint NOT NULL,
            event text NOT NULL
                CONSTRAINT ck_delivery_event CHECK (event IN ('created', 'status_changed')),
            status text NOT NULL,
            state text NOT NULL DEFAULT 'pending'
                CONSTRAINT ck_delivery_state CHECK (state IN ('pending', 'delivered', 'dead')),
            attempts integer NOT NULL DEFAULT 0,
            retry_base integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_status_code integer,
            last_error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            delivered_at timestamptz,
            CONSTRAINT uq_delivery_forward_id
                UNIQUE (forward_id, conversion_row_id, event, status)
        );
        CREATE INDEX ix_delivery_due ON delivery (next_attempt_at) WHERE state = 'pending';
        CREATE INDEX ix_delivery_tenant_id ON delivery (tenant_id, id);
        CREATE INDEX ix_delivery_conversion_row_id ON delivery (conversion_row_id);
        CREATE INDEX ix_delivery_dead ON delivery (forward_id) WHERE state = 'dead';

        CREATE TABLE delivery_attempt (
            id bigserial CONSTRAINT pk_delivery_attempt PRIMARY KEY,
            delivery_id bigint NOT NULL
                CONSTRAINT fk_delivery_attempt_delivery_id_delivery REFERENCES delivery (id)
                ON DELETE CASCADE,
            number integer NOT NULL,
            url text NOT NULL,
            started_at timestamptz NOT NULL,
            latency_ms double precision NOT NULL,
            status_code integer,
            error text,
            response_excerpt text
        );
        CREATE INDEX ix_delivery_attempt_delivery_id ON delivery_attempt (delivery_id, number);
"""


def upgrade() -> None:
    for statement in UPGRADE.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    for table in ("delivery_attempt", "delivery", "forward"):
        op.execute(f"DROP TABLE {table}")
