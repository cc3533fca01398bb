"""Alerts as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

AlertState = Literal["open", "acknowledged", "resolved"]
Language = Literal["en", "zh"]


class AlertOut(BaseModel):
    id: int
    tenant: str = Field(description="The partner's slug")
    offer_id: str | None = Field(description="The offer, or null for the partner as a whole")
    kind: str = Field(
        description="silence, volume_spike, volume_drop, rejection_surge, duplicate_surge, "
        "payout_ratio, order_repeat, future_time or stale_time"
    )
    severity: Literal["warning", "critical"]
    state: AlertState
    started_at: datetime
    last_seen_at: datetime = Field(description="When the detector last found it")
    ended_at: datetime | None
    observed: float
    expected: float | None = Field(description="What is usual (a count, or a rate 0-1)")
    message: str = Field(description="In plain words, in the language asked for (lang)")
    message_en: str
    message_zh: str
    acknowledged_at: datetime | None
    resolved_at: datetime | None


class AlertPage(BaseModel):
    items: list[AlertOut]
