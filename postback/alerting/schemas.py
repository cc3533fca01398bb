"""Alert channels as the API takes and shows them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

ChannelKind = Literal["slack", "lark", "dingtalk", "wecom", "webhook", "email"]
Severity = Literal["warning", "critical"]
Language = Literal["en", "zh"]
# No NUL anywhere: PostgreSQL's text cannot hold it.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)
]
Url = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048, pattern=NO_NUL)
]
Secret = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_NUL)
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320, pattern=NO_NUL)
]
# One address: something@host.tld, without spaces, commas or angle brackets.
EMAIL = re.compile(r"[^@\s,<>\"\x00]+@[^@\s,<>\"\x00]+\.[^@\s,<>\"\x00]+")


def _addresses(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    for value in values:
        if not EMAIL.fullmatch(value):
            raise ValueError(f"{value!r} is not an email address")
    return list(dict.fromkeys(values))


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(examples=["Ops on-call (DingTalk)"])
    kind: ChannelKind = Field(
        description="slack, lark (Feishu), dingtalk, wecom (incoming webhooks), webhook "
        "(any JSON receiver: the alert object) or email (SMTP, POSTBACK_SMTP_*)"
    )
    url: Url | None = Field(default=None, description="The incoming webhook's URL (not email)")
    secret: Secret | None = Field(
        default=None, description="DingTalk's signing secret (SEC…); only for dingtalk"
    )
    recipients: list[Email] | None = Field(
        default=None, min_length=1, max_length=50, description="Email addresses (email only)"
    )
    tenant_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="Only this partner's alerts; null: every"
    )
    min_severity: Severity = Field(default="warning", description="The least severity sent")
    language: Language = Field(default="en", description="The language of the messages")
    enabled: bool = True

    _recipients = field_validator("recipients")(lambda v: _addresses(v))


class ChannelUpdate(BaseModel):
    """Only the fields sent change; null clears the secret, the partner or the URL."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    url: Url | None = None
    secret: Secret | None = None
    recipients: list[Email] | None = Field(default=None, min_length=1, max_length=50)
    tenant_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    min_severity: Severity | None = None
    language: Language | None = None
    enabled: bool | None = None

    _recipients = field_validator("recipients")(lambda v: _addresses(v))


class NotificationCounts(BaseModel):
    pending: int = 0
    delivered: int = 0
    dead: int = 0


class ChannelOut(BaseModel):
    id: int
    name: str
    kind: ChannelKind
    url: str | None = Field(description="The webhook URL, its token shown as ***")
    secret_set: bool = Field(description="Whether a signing secret is kept (never shown)")
    recipients: list[str] | None
    tenant_id: int | None
    tenant: str | None = Field(description="The partner's slug, or null for every partner")
    min_severity: Severity
    language: Language
    enabled: bool
    notifications: NotificationCounts
    last_error: str | None = Field(description="The last failed attempt's error, if any")
    created_at: datetime
    updated_at: datetime


class ChannelList(BaseModel):
    items: list[ChannelOut]


class ChannelTested(BaseModel):
    """What a test message met: the receiver's answer (an SMTP server's for email)."""

    ok: bool
    target: str = Field(description="Where it went, its token shown as ***")
    status_code: int | None = Field(description="The HTTP status (the SMTP reply code)")
    latency_ms: float
    error: str | None
    response_excerpt: str | None = Field(description="The first bytes of the answer")


class NotificationOut(BaseModel):
    id: int
    channel_id: int
    alert_id: int
    event: Literal["opened", "escalated"]
    state: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    last_response: str | None
    created_at: datetime
    delivered_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
