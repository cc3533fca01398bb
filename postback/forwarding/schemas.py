"""Forwards and deliveries as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Event = Literal["created", "status_changed"]
Method = Literal["GET", "POST"]
State = Literal["pending", "delivered", "dead"]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
Value = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]


def _distinct(values: list[str] | None) -> list[str] | None:
    return None if values is None else list(dict.fromkeys(values))


class ForwardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url = Field(
        description="Where to send; {macros} are filled in, such as {conversion_id} or {payout}",
        examples=["https://tracker.example.com/postback?click={aff_sub}&amount={payout}"],
    )
    method: Method = "GET"
    events: list[Event] = Field(default=["created", "status_changed"], min_length=1)
    statuses: list[Value] | None = Field(
        default=None, min_length=1, description="Only these statuses; null: every status"
    )
    offers: list[Value] | None = Field(
        default=None, min_length=1, description="Only these offer ids; null: every offer"
    )
    payout_percent: Percent | None = Field(
        default=None, description="The partner's share of the payout, 0-100; null: all of it"
    )
    signing: bool = Field(
        default=False, description="Sign POST bodies (Standard Webhooks); the secret is shown once"
    )
    enabled: bool = True

    _events = field_validator("events")(lambda v: _distinct(v))
    _lists = field_validator("statuses", "offers")(lambda v: _distinct(v))


class ForwardUpdate(BaseModel):
    """Only the fields sent change; null clears a filter or the payout share."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    method: Method | None = None
    events: list[Event] | None = Field(default=None, min_length=1)
    statuses: list[Value] | None = Field(default=None, min_length=1)
    offers: list[Value] | None = Field(default=None, min_length=1)
    payout_percent: Percent | None = None
    signing: bool | None = None
    enabled: bool | None = None

    @field_validator("url", "method", "events", "signing", "enabled")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        return value


class ForwardOut(BaseModel):
    id: int
    tenant_id: int
    url: str
    method: Method
    events: list[Event]
    statuses: list[str] | None
    offers: list[str] | None
    payout_percent: Decimal | None
    signing: bool
    enabled: bool
    failing: bool = Field(description="Its last deliveries all died: look at the delivery log")
    dead_in_a_row: int
    deliveries: dict[State, int]
    created_at: datetime
    updated_at: datetime


class ForwardSaved(ForwardOut):
    signing_secret: str | None = Field(
        default=None, description="Shown this once, when signing is turned on or rotated"
    )


class AttemptOut(BaseModel):
    number: int
    url: str
    started_at: datetime
    latency_ms: float
    status_code: int | None
    error: str | None
    response_excerpt: str | None


class DeliveryOut(BaseModel):
    id: int
    forward_id: int
    conversion_id: str | None
    conversion_row_id: int
    event: Event
    status: str
    state: State
    attempts: int
    last_status_code: int | None
    last_error: str | None
    url: str = Field(description="The last attempt's URL, or the forward's; secrets masked")
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    attempt_log: list[AttemptOut] | None = None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_before_id: int | None = Field(description="Pass as before_id for the next page")


class Resent(BaseModel):
    requeued: int


class TestSent(BaseModel):
    ok: bool
    url: str
    status_code: int | None
    latency_ms: float
    error: str | None
    response_excerpt: str | None
