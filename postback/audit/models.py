"""The audit log's one table: who changed what, from where, before and after.

Made by migration 0011. The actor is three columns (kind, label, user id) so that personal
accounts add a kind and fill `actor_user_id` without a schema change; `tenant_id` and
`actor_user_id` are plain columns, not foreign keys, so an entry outlives what it names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from postback.models import Base

ACTOR_KINDS = ("admin_token", "api_key", "user", "cli")


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    __table_args__ = (
        CheckConstraint(
            "actor_kind IN ('admin_token', 'api_key', 'user', 'cli')", name="actor_kind_known"
        ),
        Index("ix_audit_entry_created_at", "created_at"),
        Index("ix_audit_entry_tenant_id_id", "tenant_id", "id"),
        Index("ix_audit_entry_action", text("action text_pattern_ops")),
        Index("ix_audit_entry_target", "target_kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_kind: Mapped[str] = mapped_column(Text)
    actor_label: Mapped[str] = mapped_column(Text)
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    client_ip: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target_kind: Mapped[str] = mapped_column(Text)
    target_id: Mapped[str | None] = mapped_column(Text)
    target_name: Mapped[str | None] = mapped_column(Text)
    tenant_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
