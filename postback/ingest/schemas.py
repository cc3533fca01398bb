"""Shapes that travel through the write path: rows for COPY-like inserts and their outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

# Column order of a conversion row as the batcher writes it (see repository.INSERT_COLUMNS).
ROW_COLUMNS = (
    "receipt_id",
    "tenant_id",
    "conversion_id",
    "offer_id",
    "offer_name",
    "datetime_conversion",
    "datetime_conversion_updated",
    "order_id",
    "sale_amount_local",
    "myr_sale_amount",
    "usd_sale_amount",
    "payout_local",
    "myr_payout",
    "usd_payout",
    "conversion_currency",
    "status",
    "status_raw",
    "adv_sub",
    "adv_sub2",
    "adv_sub3",
    "adv_sub4",
    "adv_sub5",
    "aff_sub",
    "aff_sub2",
    "aff_sub3",
    "aff_sub4",
    "raw",
    "received_at",
    "source_ip",
    "deduplicated",
)
ConversionRow = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class StoredConversion:
    """What the write path reports once a conversion row is committed (or durably spooled:
    then `id` is None and `duplicate` is decided when the spool is replayed)."""

    id: int | None
    duplicate: bool
    spooled: bool = False


@dataclass(slots=True)
class RejectionRow:
    received_at: datetime
    reason: str
    errors: list[dict[str, str]]
    tenant_id: int | None = None
    conversion_id: str | None = None
    method: str | None = None
    source_ip: str | None = None
    payload: dict[str, Any] | None = None
    raw_text: str | None = None

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.received_at,
            self.tenant_id,
            self.reason,
            orjson.dumps(self.errors).decode(),
            _without_nul(self.conversion_id),
            self.method,
            self.source_ip,
            _json_text(self.payload) if self.payload is not None else None,
            self.raw_text,
        )


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _json_text(value: Any) -> str:
    """JSON that PostgreSQL's jsonb accepts: a NUL character is kept as the text `\\x00`."""
    text = orjson.dumps(value)
    if b"\\u0000" in text:
        text = orjson.dumps(_without_nul(value))
    return text.decode()
