"""Users as the API takes and shows them. Password hashes never leave."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from postback.accounts.models import Role
from postback.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from postback.tenants.schemas import Name, Slug

# A plain check (something@domain.tld, no spaces); the address is only a sign-in name here,
# nothing is sent to it.
EMAIL_PATTERN = r"^[^@\s\x00]{1,64}@[^@\s\x00]+\.[^@\s\x00]+$"
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL_PATTERN),
    Field(description="The sign-in name; unique whatever its case", examples=["ana@example.com"]),
]
Password = Annotated[
    str,
    Field(
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        description=f"At least {MIN_LENGTH} characters",
    ),
]
RoleField = Annotated[
    Role,
    Field(description="admin: everything; analyst: reads everything; partner: one partner"),
]
Partner = Annotated[Slug | None, Field(description="The partner's slug (role partner only)")]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    display_name: Name | None = Field(default=None, description="Default: the email's name")
    role: RoleField
    partner: Partner = None
    password: Password | None = Field(
        default=None, description="Omit it to get a generated password, shown once"
    )


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: Name | None = None
    role: RoleField | None = None
    partner: Partner = None
    disabled: bool | None = Field(
        default=None, description="true: the user cannot sign in and its sessions end"
    )


class UserOut(BaseModel):
    id: int
    email: str
    display_name: str
    role: Role
    partner: str | None = Field(description="The partner's slug, for a partner user")
    disabled: bool
    created_at: datetime
    last_sign_in_at: datetime | None
    live_sessions: int = Field(description="Browser sessions not ended or revoked")


class UserCreated(UserOut):
    password: str | None = Field(description="The generated password, shown once (else null)")


class PasswordReset(BaseModel):
    password: str = Field(description="The new password, shown once")
    sessions_revoked: int


class SessionsRevoked(BaseModel):
    sessions_revoked: int


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=MAX_LENGTH)
    new_password: Password


class Me(BaseModel):
    """Who the credential of this request stands for."""

    kind: Literal["user", "admin_token", "partner_key"]
    role: Role
    may_change: bool
    sees_every_partner: bool
    tenant_id: int | None
    user: UserOut | None = Field(description="The personal account, when it is one")
