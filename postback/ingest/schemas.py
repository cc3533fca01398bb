"""Shapes that travel through the write path: the rows it stores, and what storing answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol
from uuid import UUID

import orjson


class ConversionRow(NamedTuple):
    """One typed postback, in the column order of the `conversion` table's batch insert.

    A NamedTuple: as cheap to build as a tuple, and the spool writes it as a JSON array in this
    field order (so a spool file written by an earlier version still reads back).
    """

    receipt_id: UUID
    tenant_id: int
    conversion_id: str
    offer_id: str | None
    offer_name: str | None
    datetime_conversion: datetime | None
    datetime_conversion_updated: datetime | None
    order_id: str | None
    # Amounts: checked plain decimal text (fields.amount_text); a Decimal is accepted too.
    sale_amount_local: Any
    myr_sale_amount: Any
    usd_sale_amount: Any
    payout_local: Any
    myr_payout: Any
    usd_payout: Any
    conversion_currency: str | None
    status: str
    status_raw: str | None
    adv_sub: str | None
    adv_sub2: str | None
    adv_sub3: str | None
    adv_sub4: str | None
    adv_sub5: str | None
    aff_sub: str | None
    aff_sub2: str | None
    aff_sub3: str | None
    aff_sub4: str | None
    raw: str  # the raw payload as JSON text, partner tokens fingerprinted
    received_at: datetime
    source_ip: str | None
    deduplicated: bool


ROW_COLUMNS: tuple[str, ...] = ConversionRow._fields


class RejectionRow(NamedTuple):
    """One refused postback, in the column order of the `rejection` insert."""

    received_at: datetime
    tenant_id: int | None
    reason: str
    errors: str  # JSON text: [{"field": …, "message": …}, …]
    conversion_id: str | None
    method: str | None
    source_ip: str | None
    payload: str | None  # JSON text of the raw payload
    raw_text: str | None
    raw_truncated: bool  # raw_text holds only the start of what was sent

    @classmethod
    def of(
        cls,
        received_at: datetime,
        reason: str,
        errors: list[dict[str, str]],
        *,
        tenant_id: int | None = None,
        conversion_id: str | None = None,
        method: str | None = None,
        source_ip: str | None = None,
        payload: dict[str, Any] | None = None,
        raw_text: str | None = None,
        raw_truncated: bool = False,
    ) -> RejectionRow:
        """The row for a refusal, its errors and payload as JSON PostgreSQL accepts."""
        return cls(
            received_at,
            tenant_id,
            reason,
            orjson.dumps(errors).decode(),
            _without_nul(conversion_id),
            method,
            source_ip,
            _json_text(payload) if payload is not None else None,
            raw_text,
            raw_truncated,
        )


@dataclass(frozen=True, slots=True)
class StoredConversion:
    """What the write path reports once a conversion row is committed (or durably spooled:
    then `id` is None and `duplicate` is decided when the spool is replayed)."""

    id: int | None
    duplicate: bool
    spooled: bool = False


class RowSink(Protocol):
    """Where the ingest service sends the rows it built: the `Batcher` in production.

    `submit` answers once the row is committed (or durably spooled). Both methods may raise
    `batcher.Overloaded` (retry shortly) or `batcher.StorageUnavailable` (retry later);
    `submit` raises `batcher.Unstorable` when the database refuses that one row. A benchmark
    passes its own sink to `create_app(storage=…)` to measure the service without storing.
    """

    async def submit(self, row: ConversionRow) -> StoredConversion: ...

    async def submit_rejection(self, row: RejectionRow) -> None: ...


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
