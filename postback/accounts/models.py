"""The app_user and sign_in_session tables, and the roles a user may have."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from postback.models import Base


class Role(StrEnum):
    """admin: everything; analyst: reads every partner's data, changes nothing; partner: one
    partner's data, exactly what that partner's API key may see."""

    ADMIN = "admin"
    ANALYST = "analyst"
    PARTNER = "partner"


class SessionKind(StrEnum):
    """Who a browser session stands for: a personal user, the admin token (break-glass), or a
    partner's API key."""

    USER = "user"
    ADMIN_TOKEN = "admin_token"  # noqa: S105 (a kind, not a secret)
    PARTNER_KEY = "partner_key"


class AppUser(Base):
    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'analyst', 'partner')", name="role_known"),
        CheckConstraint("(role = 'partner') = (tenant_id IS NOT NULL)", name="partner_has_tenant"),
        CheckConstraint("(oidc_issuer IS NULL) = (oidc_subject IS NULL)", name="oidc_pair"),
        Index("uq_app_user_email", func.lower(text("email")), unique=True),
        UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_app_user_oidc"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    tenant_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    password_hash: Mapped[str | None] = mapped_column(Text)
    oidc_issuer: Mapped[str | None] = mapped_column(Text)
    oidc_subject: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInSession(Base):
    """A browser session. The cookie carries a random token; only its SHA-256 is kept here,
    so a copy of this table opens no session."""

    __tablename__ = "sign_in_session"
    __table_args__ = (
        CheckConstraint("kind IN ('user', 'admin_token', 'partner_key')", name="kind_known"),
        CheckConstraint("(kind = 'user') = (user_id IS NOT NULL)", name="user_has_user"),
        CheckConstraint(
            "(kind = 'partner_key') = (tenant_id IS NOT NULL)", name="partner_key_has_tenant"
        ),
    )

    id_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("app_user.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    # The credential it was opened with (an HMAC of the API key's digest or of the admin
    # token): rotating either ends the sessions opened with the old one.
    credential: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
