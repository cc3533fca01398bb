"""Forecasts as the API shows them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class ForecastDay(BaseModel):
    day: date = Field(description="A local day of the partner's reporting timezone")
    conversions: float
    conversions_lower: float
    conversions_upper: float
    payouts_usd: float
    payouts_usd_lower: float
    payouts_usd_upper: float


class PartnerForecast(BaseModel):
    tenant: str = Field(description="The partner's slug")
    name: str
    timezone: str
    history_days: int = Field(description="Days of history the model was fitted on")
    model: str | None = Field(description="ETS(A,N,A) weekly, or null without a forecast")
    level: float = Field(description="The band's coverage: 0.8 is the central 80%")
    note: str | None = Field(description="Why there is no forecast, when there is none")
    days: list[ForecastDay]


class ForecastPage(BaseModel):
    generated_at: datetime
    horizon_days: int
    items: list[PartnerForecast]
