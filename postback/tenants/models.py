"""The tenant (partner) table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from postback.models import Base


class Tenant(Base):
    __tablename__ = "tenant"
    __table_args__ = (
        CheckConstraint("retention_days >= 1", name="retention_days_positive"),
        CheckConstraint(
            "rate_limit_per_minute IS NULL OR rate_limit_per_minute >= 1",
            name="rate_limit_positive",
        ),
        CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'", name="slug_format"),
        Index(
            "uq_tenant_is_default", "is_default", unique=True, postgresql_where=text("is_default")
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    ts_token_hash: Mapped[str | None] = mapped_column(Text, unique=True)
    ts_param_hash: Mapped[str | None] = mapped_column(Text, unique=True)
    tlm_token_hash: Mapped[str | None] = mapped_column(Text, unique=True)
    api_key_hash: Mapped[str | None] = mapped_column(Text, unique=True)
    retention_days: Mapped[int] = mapped_column(Integer, server_default=text("7"))
    dedup_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Parsing options for senders that cannot change (postback/ingest/fields.py, Parsing).
    day_first_dates: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    decimal_comma: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_default: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
