"""personal accounts and server-side browser sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

`app_user`: one row per person (email unique whatever its case, a role, the partner when the
role is partner, an argon2 password hash, optional OIDC issuer/subject for a later Google
sign-in). `sign_in_session`: one row per browser session, keyed by the SHA-256 of the random
token its cookie carries (postback/web/session.py). Both tables are empty at first: the
admin token keeps working until someone creates users (`postback users create`).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


UPGRADE = """
        CREATE TABLE app_user (
            id bigserial CONSTRAINT pk_app_user PRIMARY KEY,
            email text NOT NULL,
            display_name text NOT NULL,
            role text NOT NULL,
            tenant_id bigint
                CONSTRAINT fk_app_user_tenant_id_tenant REFERENCES tenant (id) ON DELETE CASCADE,
            password_hash text,
            oidc_issuer text,
            oidc_subject text,
            disabled_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_sign_in_at timestamptz,
            CONSTRAINT ck_app_user_role_known CHECK (role IN ('admin', 'analyst', 'partner')),
            CONSTRAINT ck_app_user_partner_has_tenant
                CHECK ((role = 'partner') = (tenant_id IS NOT NULL)),
            CONSTRAINT ck_app_user_oidc_pair CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL)),
            CONSTRAINT uq_app_user_oidc UNIQUE (oidc_issuer, oidc_subject)
        );
        CREATE UNIQUE INDEX uq_app_user_email ON app_user (lower(email));
        CREATE INDEX ix_app_user_tenant_id ON app_user (tenant_id);

        CREATE TABLE sign_in_session (
            id_hash text CONSTRAINT pk_sign_in_session PRIMARY KEY,
            kind text NOT NULL,
            user_id bigint CONSTRAINT fk_sign_in_session_user_id_app_user
                REFERENCES app_user (id) ON DELETE CASCADE,
            tenant_id bigint CONSTRAINT fk_sign_in_session_tenant_id_tenant
                REFERENCES tenant (id) ON DELETE CASCADE,
            credential text,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_seen_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz,
            ip text,
            user_agent text,
            CONSTRAINT ck_sign_in_session_kind_known
                CHECK (kind IN ('user', 'admin_token', 'partner_key')),
            CONSTRAINT ck_sign_in_session_user_has_user
                CHECK ((kind = 'user') = (user_id IS NOT NULL)),
            CONSTRAINT ck_sign_in_session_partner_key_has_tenant
                CHECK ((kind = 'partner_key') = (tenant_id IS NOT NULL))
        );
        CREATE INDEX ix_sign_in_session_user_id ON sign_in_session (user_id);
        CREATE INDEX ix_sign_in_session_tenant_id ON sign_in_session (tenant_id);
        CREATE INDEX ix_sign_in_session_expires_at ON sign_in_session (expires_at);
"""


def upgrade() -> None:
    # One statement at a time (the driver prepares each, and a prepared statement is one).
    for statement in UPGRADE.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE sign_in_session")
    op.execute("DROP TABLE app_user")
