"""Conversions (one row per accepted postback) and rejections (every refused one)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from postback.models import Base

Money = Numeric(20, 6)

# The identifiers a conversion is searched by: exact match on each, or a prefix over them all.
SEARCH_FIELDS = (
    "conversion_id",
    "order_id",
    "aff_sub",
    "aff_sub2",
    "aff_sub3",
    "aff_sub4",
    "adv_sub",
    "adv_sub2",
    "adv_sub3",
    "adv_sub4",
    "adv_sub5",
)
# The sub-ids may hold 2,048 characters, more than a btree entry can (2,704 bytes): their
# indexes hold the first SEARCH_KEY_LENGTH characters (at most 800 bytes), which is all a
# prefix search may give; an exact match is checked on the whole value after the index.
SHORT_SEARCH_FIELDS = frozenset({"conversion_id", "order_id"})
SEARCH_KEY_LENGTH = 200


def search_key(column: Any) -> Any:
    """What a field's search index holds: the value, or the start of a long one."""
    if column.key in SHORT_SEARCH_FIELDS:
        return column
    return func.left(column, SEARCH_KEY_LENGTH)


def _search_index(field: str) -> Index:
    """A btree in byte order (text_pattern_ops), so one index answers `=` and a prefix range
    whatever the database's collation; an empty field costs no entry (and no write)."""
    if field in SHORT_SEARCH_FIELDS:
        key: Any = field
        ops = {field: "text_pattern_ops"}
    else:
        key = text(f"left({field}, {SEARCH_KEY_LENGTH}) text_pattern_ops")
        ops = {}
    return Index(
        f"ix_conversion_{field}_search",
        key,
        postgresql_ops=ops,
        postgresql_where=None if field == "conversion_id" else text(f"{field} IS NOT NULL"),
    )


class Conversion(Base):
    __tablename__ = "conversion"
    __table_args__ = (
        # One first row per tenant and conversion_id; duplicates are further rows linked to it.
        Index(
            "uq_conversion_first",
            "tenant_id",
            "conversion_id",
            unique=True,
            postgresql_where=text("deduplicated AND NOT is_duplicate"),
        ),
        Index("ix_conversion_tenant_id_id", "tenant_id", "id"),
        Index("ix_conversion_tenant_id_received_at", "tenant_id", "received_at"),
        # The rows whose payload the retention has not cleared yet (migration 0012).
        Index(
            "ix_conversion_detail",
            "tenant_id",
            "received_at",
            postgresql_where=text("raw IS NOT NULL"),
        ),
        Index("ix_conversion_occurred_at", "occurred_at"),
        Index("ix_conversion_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index("ix_conversion_first_id", "first_id", postgresql_where=text("first_id IS NOT NULL")),
        *(_search_index(field) for field in SEARCH_FIELDS),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    receipt_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tenant.id"))
    conversion_id: Mapped[str] = mapped_column(Text)
    offer_id: Mapped[str | None] = mapped_column(Text)
    offer_name: Mapped[str | None] = mapped_column(Text)
    datetime_conversion: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    datetime_conversion_updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    order_id: Mapped[str | None] = mapped_column(Text)
    sale_amount_local: Mapped[Decimal | None] = mapped_column(Money)
    myr_sale_amount: Mapped[Decimal | None] = mapped_column(Money)
    usd_sale_amount: Mapped[Decimal | None] = mapped_column(Money)
    payout_local: Mapped[Decimal | None] = mapped_column(Money)
    myr_payout: Mapped[Decimal | None] = mapped_column(Money)
    usd_payout: Mapped[Decimal | None] = mapped_column(Money)
    conversion_currency: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    status_raw: Mapped[str | None] = mapped_column(Text)
    adv_sub: Mapped[str | None] = mapped_column(Text)
    adv_sub2: Mapped[str | None] = mapped_column(Text)
    adv_sub3: Mapped[str | None] = mapped_column(Text)
    adv_sub4: Mapped[str | None] = mapped_column(Text)
    adv_sub5: Mapped[str | None] = mapped_column(Text)
    aff_sub: Mapped[str | None] = mapped_column(Text)
    aff_sub2: Mapped[str | None] = mapped_column(Text)
    aff_sub3: Mapped[str | None] = mapped_column(Text)
    aff_sub4: Mapped[str | None] = mapped_column(Text)
    # The payload as received; NULL once the partner's retention has cleared it (a first row
    # outlives its payload: postback/lifecycle).
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source_ip: Mapped[str | None] = mapped_column(INET)
    # Whether this row took part in duplicate detection (the tenant had dedup on).
    deduplicated: Mapped[bool] = mapped_column(Boolean)
    is_duplicate: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    first_id: Mapped[int | None] = mapped_column(BigInteger)
    status_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The conversion's time for reporting: the network's time, or ours when it sent none.
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        Computed("coalesce(datetime_conversion, received_at)", persisted=True),
    )


class Rejection(Base):
    __tablename__ = "rejection"
    __table_args__ = (
        Index("ix_rejection_received_at", "received_at"),
        Index("ix_rejection_tenant_id_received_at", "tenant_id", "received_at"),
        # The work queue: rejections not replayed yet, newest first.
        Index(
            "ix_rejection_unreplayed_received_at",
            "received_at",
            postgresql_where=text("replayed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    tenant_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tenant.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(Text)
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSONB)
    conversion_id: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str | None] = mapped_column(Text)
    source_ip: Mapped[str | None] = mapped_column(INET)
    # The parameters as received, when they could be parsed; the raw text otherwise.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    raw_text: Mapped[str | None] = mapped_column(Text)
    # raw_text holds only the start of what was sent (a body or query over its size limit).
    raw_truncated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Replayed: when, by whom, under which receipt id, as which conversion row.
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replayed_by: Mapped[str | None] = mapped_column(Text)
    replay_receipt_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    replayed_conversion_pk: Mapped[int | None] = mapped_column(BigInteger)
