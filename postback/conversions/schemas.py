"""Conversions and stats as the API shows them. Money is a decimal string, never a float."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


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
    raw: dict[str, Any]
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
