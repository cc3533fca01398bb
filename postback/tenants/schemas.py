"""Partners (tenants) as the management API takes and shows them. Hashes never leave."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

SecretKind = Literal["api_key", "ts_token", "ts_param", "tlm_token"]
TokenKind = Literal["ts_token", "ts_param", "tlm_token"]

# A slug, as the tenant table's slug_format check takes it: the one definition used by these
# schemas (a bad slug is a 422 naming the field), the CLI's options and the admin form's
# `pattern`. The dash is escaped so that browsers, which read `pattern` with the `v` flag,
# accept it too.
SLUG = r"[a-z0-9][a-z0-9\-]{0,62}"
SLUG_PATTERN = f"^{SLUG}$"
MAX_RETENTION_DAYS = 3650
MAX_RATE_LIMIT = 10_000_000

# PostgreSQL text cannot hold NUL, so it is refused here rather than failing in the database.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)
]
Slug = Annotated[
    str,
    StringConstraints(pattern=SLUG_PATTERN),
    Field(description="Short id: 1 to 63 lowercase letters, digits and dashes", examples=["acme"]),
]
# Partner-chosen tokens only identify a partner; they still must be usable in a URL query.
Token = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=NO_NUL)
]
RetentionDays = Annotated[int, Field(ge=1, le=MAX_RETENTION_DAYS)]
RateLimit = Annotated[int, Field(ge=1, le=MAX_RATE_LIMIT, description="Postbacks per minute")]
Timezone = Annotated[
    str,
    Field(
        max_length=64, description="IANA name, such as Asia/Jakarta; null: the reporting timezone"
    ),
]

NOT_NULL = (
    "name", "slug", "retention_days", "dedup_enabled", "enabled", "day_first_dates",
    "decimal_comma",
)  # fmt: skip
DayFirstDates = Annotated[
    bool,
    Field(description="Read dates such as 31/12/2026 23:59 day first (for senders that write so)"),
]
DecimalComma = Annotated[
    bool,
    Field(description="Read amounts such as 1.234,56 with a decimal comma (12,34 is 12.34)"),
]


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    slug: Slug
    ts_token: Token | None = Field(default=None, description="Generated when no token is given")
    ts_param: Token | None = None
    tlm_token: Token | None = None
    retention_days: RetentionDays = 7
    dedup_enabled: bool = True
    rate_limit_per_minute: RateLimit | None = None
    timezone: Timezone | None = None
    day_first_dates: DayFirstDates = False
    decimal_comma: DecimalComma = False


class TenantUpdate(BaseModel):
    """Only the fields sent change; null clears a token, a limit or the timezone."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    slug: Slug | None = None
    ts_token: Token | None = None
    ts_param: Token | None = None
    tlm_token: Token | None = None
    retention_days: RetentionDays | None = None
    dedup_enabled: bool | None = None
    rate_limit_per_minute: RateLimit | None = None
    timezone: Timezone | None = None
    enabled: bool | None = None
    day_first_dates: DayFirstDates | None = None
    decimal_comma: DecimalComma | None = None

    @field_validator(*NOT_NULL)
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: SecretKind
    value: Token | None = Field(
        default=None, description="The new token (not for api_key); random when not given"
    )


class TenantOut(BaseModel):
    id: int
    name: str
    slug: str
    is_default: bool
    enabled: bool
    retention_days: int
    dedup_enabled: bool
    rate_limit_per_minute: int | None
    timezone: str | None = Field(description="The partner's own timezone, if it has one")
    reporting_timezone: str = Field(description="The timezone its days are counted in")
    day_first_dates: DayFirstDates
    decimal_comma: DecimalComma
    secrets_set: list[SecretKind] = Field(description="Which tokens and keys the partner has")
    conversions_today: int = Field(description="Distinct conversions today (reporting timezone)")
    last_postback_at: datetime | None = Field(description="When its last conversion arrived")
    created_at: datetime
    updated_at: datetime


class TenantCreated(TenantOut):
    secrets: dict[SecretKind, str] = Field(description="Shown once: they are stored hashed")
    postback_url: str = Field(description="Ready to paste into Involve Asia, with the token")


class Rotated(BaseModel):
    kind: SecretKind
    secret: str = Field(description="Shown once: it is stored hashed")
    postback_url: str
    tenant: TenantOut


class PostbackUrl(BaseModel):
    url: str
    token_field: TokenKind | None = Field(description="The token parameter the URL carries")
    token_included: bool = Field(description="False: replace the placeholder with the token")
    macros: list[str]
