"""Conversions and stats as the API shows them. Money is a decimal string, never a float."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticUseDefault

from postback.conversions.models import SEARCH_FIELDS


def money_text(value: Decimal) -> str:
    """Exact decimal text with at least two places: 1234.5 -> '1234.50'."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
        whole, _, fraction = text.partition(".")
        return f"{whole}.{fraction.ljust(2, '0')}"
    return text + ".00"


Money = Annotated[Decimal, PlainSerializer(money_text, return_type=str)]


class DuplicateFilter(StrEnum):
    include = "include"
    exclude = "exclude"
    only = "only"


NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
# As long as the fields themselves may be (ingest/fields.py): longer can match nothing.
MAX_ID_LENGTH = 255
MAX_SUB_LENGTH = 2048
MIN_PREFIX = 3
MAX_PREFIX = 200  # what the sub-ids' indexes hold (models.SEARCH_KEY_LENGTH)


def _text(description: str, max_length: int = MAX_SUB_LENGTH) -> Any:
    return Field(None, description=description, pattern=NO_NUL, max_length=max_length)


def _amount(description: str) -> Any:
    return Field(None, description=description, max_digits=20, decimal_places=6)


class ConversionQuery(BaseModel):
    """The filters of `GET /postback/conversions`; any other query parameter is refused.
    Empty values count as not given (a search form sends every field)."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=1000)
    tenant: str | None = _text("Partner slug (admin only)", 63)
    offer_id: str | None = _text("Offer id, exact", MAX_ID_LENGTH)
    status: str | None = _text("approved, pending, rejected, paid, other, unknown", 32)
    since: str | None = _text("Conversion time from (inclusive)", 64)
    until: str | None = _text("Conversion time until (exclusive)", 64)
    duplicates: DuplicateFilter = DuplicateFilter.include
    conversion_id: str | None = _text("Exact", MAX_ID_LENGTH)
    order_id: str | None = _text("Exact", MAX_ID_LENGTH)
    aff_sub: str | None = _text("Exact")
    aff_sub2: str | None = _text("Exact")
    aff_sub3: str | None = _text("Exact")
    aff_sub4: str | None = _text("Exact")
    adv_sub: str | None = _text("Exact")
    adv_sub2: str | None = _text("Exact")
    adv_sub3: str | None = _text("Exact")
    adv_sub4: str | None = _text("Exact")
    adv_sub5: str | None = _text("Exact")
    q: str | None = Field(
        None,
        description=(
            f"Prefix ({MIN_PREFIX} to {MAX_PREFIX} characters, case-sensitive) of any of"
            " conversion_id, order_id, aff_sub..aff_sub4, adv_sub..adv_sub5"
        ),
        pattern=NO_NUL,
        min_length=MIN_PREFIX,
        max_length=MAX_PREFIX,
    )
    min_sale: Decimal | None = _amount("Sale amount in USD (usd_sale_amount) at least")
    max_sale: Decimal | None = _amount("Sale amount in USD (usd_sale_amount) at most")
    min_payout: Decimal | None = _amount("Payout in USD (usd_payout) at least")
    max_payout: Decimal | None = _amount("Payout in USD (usd_payout) at most")

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise PydanticUseDefault()
        return value

    @field_validator("max_sale", "max_payout")
    @classmethod
    def _not_below_min(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        low = "min_" + info.field_name.removeprefix("max_") if info.field_name else ""
        lowest = info.data.get(low)
        if value is not None and lowest is not None and value < lowest:
            raise ValueError(f"must not be less than {low} ({lowest})")
        return value

    def exact(self) -> dict[str, str]:
        """The identifiers to match exactly, by field."""
        values = {name: getattr(self, name) for name in SEARCH_FIELDS}
        return {name: value for name, value in values.items() if value is not None}


class ConversionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    receipt_id: UUID
    tenant: str
    conversion_id: str
    offer_id: str | None
    offer_name: str | None
    datetime_conversion: datetime | None
    datetime_conversion_updated: datetime | None
    order_id: str | None
    sale_amount_local: Money | None
    myr_sale_amount: Money | None
    usd_sale_amount: Money | None
    payout_local: Money | None
    myr_payout: Money | None
    usd_payout: Money | None
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
    raw: dict[str, Any] | None = Field(
        description="The payload as received; null once the partner's retention cleared it"
    )
    received_at: datetime
    source_ip: str | None
    is_duplicate: bool
    first_id: int | None
    status_updated_at: datetime | None
    occurred_at: datetime


class ConversionPage(BaseModel):
    items: list[ConversionOut]
    total: int
    page: int
    page_size: int


class Totals(BaseModel):
    conversions: int = Field(description="Distinct conversions (first rows)")
    duplicates: int
    rejections: int
    sales_usd: Money
    sales_myr: Money
    payouts_usd: Money
    payouts_myr: Money


class StatusStats(BaseModel):
    status: str
    conversions: int
    sales_usd: Money
    payouts_usd: Money


class OfferStats(BaseModel):
    offer_id: str | None
    offer_name: str | None
    conversions: int
    sales_usd: Money
    sales_myr: Money
    payouts_usd: Money
    payouts_myr: Money


class HourStats(BaseModel):
    hour: datetime = Field(description="Start of the hour in the reporting timezone")
    conversions: int
    sales_usd: Money
    payouts_usd: Money


class Stats(BaseModel):
    since: datetime
    until: datetime
    timezone: str
    tenant: str | None
    totals: Totals
    by_status: list[StatusStats]
    by_offer: list[OfferStats]
    by_hour: list[HourStats]


class HistoryEntry(BaseModel):
    """One postback of a conversion, as it arrived."""

    id: int
    received_at: datetime
    is_duplicate: bool
    status: str = Field(description="The status this postback carried")
    status_raw: str | None
    status_changed: bool = Field(description="It moved the conversion to a new status")
    previous_status: str | None
    source_ip: str | None
    usd_sale_amount: Money | None
    usd_payout: Money | None
    raw: dict[str, Any] | None = Field(
        description="The payload as received; null once the partner's retention cleared it"
    )


class ConversionHistory(BaseModel):
    """A conversion's first row (holding its current status) and every postback of it in
    arrival order: the first, each duplicate, each status change."""

    conversion: ConversionOut
    entries: list[HistoryEntry]
    total_entries: int = Field(description="Postbacks stored; `entries` holds the first 1,000")
