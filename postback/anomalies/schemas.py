"""Alerts as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from postback.anomalies.repository import AlertRow

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

    @classmethod
    def of(cls, row: AlertRow, lang: Language) -> AlertOut:
        return cls(
            id=row.id,
            tenant=row.tenant,
            offer_id=row.offer_id,
            kind=row.kind,
            severity=row.severity,
            state=row.state,
            started_at=row.started_at,
            last_seen_at=row.last_seen_at,
            ended_at=row.ended_at,
            observed=row.observed,
            expected=row.expected,
            message=row.message_zh if lang == "zh" else row.message_en,
            message_en=row.message_en,
            message_zh=row.message_zh,
            acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at,
        )


class AlertPage(BaseModel):
    items: list[AlertOut]
