"""Rejections as the API shows them, and what a replay takes and answers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from postback.tenants.schemas import NO_NUL, Slug


class Reason(StrEnum):
    """Why a postback was refused (postback/ingest: routes.py for whole requests, service.py
    for their content)."""

    invalid = "invalid"  # a field could not be typed, or the body is not a JSON object
    conflicting = "conflicting"  # a parameter sent twice with different values
    unknown_token = "unknown_token"  # noqa: S105 (a reason, not a secret): strict tokens
    tenant_disabled = "tenant_disabled"
    rate_limited = "rate_limited"
    unstorable = "unstorable"  # the database refused the row
    too_large = "too_large"  # 413 body, 414 query
    too_many_fields = "too_many_fields"
    bad_encoding = "bad_encoding"  # not UTF-8
    unsupported = "unsupported"  # multipart
    disconnected = "disconnected"  # the sender left before its body arrived


class RejectionOut(BaseModel):
    id: int
    received_at: datetime
    tenant: str | None = Field(description="The partner's slug, when it is known")
    reason: Reason | str
    errors: list[dict[str, Any]]
    conversion_id: str | None
    method: str | None
    source_ip: str | None
    payload: dict[str, Any] | None = Field(
        description="The parameters as received (partner tokens fingerprinted)"
    )
    raw_text: str | None = Field(description="The request as text, when it could not be parsed")
    raw_truncated: bool = Field(description="raw_text holds only the start of what was sent")
    replayed: bool
    replayed_at: datetime | None
    replayed_by: str | None
    replayed_conversion_pk: int | None = Field(
        description="The conversion row it was stored as (GET /postback/conversions/{id})"
    )


class RejectionPage(BaseModel):
    items: list[RejectionOut]
    total: int
    page: int
    page_size: int


def _encodable(text: str) -> str:
    """JSON text may carry a lone surrogate (`\\ud800`), which no UTF-8 column can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return text


FieldName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=NO_NUL),
    AfterValidator(_encodable),
]
FieldText = Annotated[
    str, StringConstraints(max_length=4096, pattern=NO_NUL), AfterValidator(_encodable)
]
# Numbers as JSON senders write them; integers within 64 bits, as a live postback's JSON body.
FieldInt = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
FieldValue = FieldText | FieldInt | float | None


class ReplayIn(BaseModel):
    """Corrections for a replay: the fields to change (null removes one), and the partner when
    the rejection does not say (its tokens matched no one, or its request was unreadable)."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[FieldName, FieldValue] = Field(
        default_factory=dict,
        max_length=200,
        examples=[{"datetime_conversion": "2026-12-31 23:59:00", "usd_payout": "12.34"}],
    )
    tenant: Slug | None = None


class ReplayOut(BaseModel):
    status: Literal["replayed", "already_replayed"]
    conversion_pk: int | None = Field(description="null while the row waits in the spool")
    duplicate: bool | None = Field(description="stored as a duplicate of an earlier conversion")
    spooled: bool = False
    rejection: RejectionOut


class BulkReplayOut(BaseModel):
    replayed: int
    still_invalid: int
    already_replayed: int
    unavailable: int = Field(description="not stored now (storage busy or away): retry")
    more: bool = Field(description="more rejections match than one call replays: call again")
