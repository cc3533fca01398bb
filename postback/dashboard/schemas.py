"""What the dashboard's data endpoints answer. Money and rates are exact decimal strings."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from postback.conversions.schemas import Money


class RangeName(StrEnum):
    today = "today"
    yesterday = "yesterday"
    last_7_days = "7d"
    last_30_days = "30d"
    custom = "custom"


Grain = Literal["hour", "day"]


class RangeOut(BaseModel):
    name: RangeName
    first_day: date = Field(description="First day, in the reporting timezone")
    last_day: date = Field(description="Last day (inclusive), in the reporting timezone")
    since: datetime = Field(description="Start of the range (inclusive)")
    until: datetime = Field(description="End of the range (exclusive; now at the latest)")
    previous_since: datetime
    previous_until: datetime
    timezone: str
    grain: Grain
    tenant: str | None = Field(description="Partner slug, or null for every partner")


class Kpi(BaseModel):
    key: str
    kind: Literal["count", "money", "percent"]
    value: str = Field(description="Exact decimal text")
    previous: str = Field(description="Same figure over the previous period of equal length")
    change: str | None = Field(
        description="Percent change for counts and money, percentage points for rates; "
        "null when the previous value is zero"
    )


class KpisOut(BaseModel):
    range: RangeOut
    kpis: list[Kpi]


class SeriesPoint(BaseModel):
    bucket: datetime = Field(description="Start of the hour or day, in the reporting timezone")
    conversions: int
    sales_usd: Money
    payouts_usd: Money
    payouts_myr: Money


class SeriesOut(BaseModel):
    range: RangeOut
    points: list[SeriesPoint]


class StatusRow(BaseModel):
    status: str
    conversions: int
    sales_usd: Money
    payouts_usd: Money


class CurrencyRow(BaseModel):
    currency: str | None
    conversions: int
    sales_local: Money
    sales_usd: Money
    payouts_usd: Money


class OfferRow(BaseModel):
    offer_id: str | None
    offer_name: str | None
    conversions: int
    sales_usd: Money
    sales_myr: Money
    payouts_usd: Money
    payouts_myr: Money


class PartnerRow(BaseModel):
    slug: str
    name: str
    conversions: int
    duplicates: int
    approved: int
    sales_usd: Money
    sales_myr: Money
    payouts_usd: Money
    payouts_myr: Money


RowT = TypeVar("RowT", bound=BaseModel)


class TableOut(BaseModel, Generic[RowT]):
    range: RangeOut
    rows: list[RowT]


class FeedItem(BaseModel):
    id: int
    tenant: str
    conversion_id: str
    offer_name: str | None
    status: str
    currency: str | None
    sales_usd: Money | None
    payouts_usd: Money | None
    occurred_at: datetime
    received_at: datetime
    duplicate: bool


class PartnerChoice(BaseModel):
    slug: str
    name: str
