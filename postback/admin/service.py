"""What the admin pages do: read or change partners through the
tenants service, turning every refusal into problems a form can show next to its fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from postback.admin import repository
from postback.errors import NotFound, PostbackError
from postback.tenants import service as tenants
from postback.tenants.schemas import (
    PostbackUrl,
    SecretKind,
    TenantCreate,
    TenantOut,
    TenantUpdate,
)

RECENT_ROWS = 50
CREATE_FIELDS = (
    "name",
    "slug",
    "ts_token",
    "ts_param",
    "tlm_token",
    "retention_days",
    "rate_limit_per_minute",
    "timezone",
)
UPDATE_FIELDS = ("name", "slug", "retention_days", "rate_limit_per_minute", "timezone")
# Check boxes: sent when ticked, absent when not.
CHECKBOXES = ("dedup_enabled", "day_first_dates", "decimal_comma")
# Fields whose empty value means "none" rather than "missing".
OPTIONAL_FIELDS = frozenset(
    {"ts_token", "ts_param", "tlm_token", "rate_limit_per_minute", "timezone"}
)


# --- Forms ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str


class FormInvalid(Exception):
    def __init__(self, problems: list[Problem], status_code: int = 422) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems
        self.status_code = status_code


def _values(form: Mapping[str, Any], names: Sequence[str]) -> dict[str, str | None]:
    """The named text fields the form sent, stripped; an empty optional one becomes None."""
    values: dict[str, str | None] = {}
    for name in names:
        raw = form.get(name)
        if not isinstance(raw, str):
            continue
        text = raw.strip()
        values[name] = None if not text and name in OPTIONAL_FIELDS else text
    return values


def _validation_problems(exc: ValidationError) -> FormInvalid:
    problems = [
        Problem(str(error["loc"][0]) if error["loc"] else "request", error["msg"])
        for error in exc.errors()
    ]
    return FormInvalid(problems)


def _refused(exc: PostbackError) -> FormInvalid:
    return FormInvalid([Problem(exc.field, exc.message)], exc.status_code)


def form_values(form: Mapping[str, Any]) -> dict[str, Any]:
    """What the person typed, to show the form again as it was sent."""
    values: dict[str, Any] = {k: v or "" for k, v in _values(form, CREATE_FIELDS).items()}
    values.update(_checkboxes(form))
    return values


def _checkboxes(form: Mapping[str, Any]) -> dict[str, bool]:
    return {name: name in form for name in CHECKBOXES}


async def create(
    session: AsyncSession, form: Mapping[str, Any], *, default_zone: str, base: str
) -> tuple[int, dict[str, str], str]:
    """The new partner's id, its secrets and its postback URL with the token (shown once)."""
    values: dict[str, Any] = {
        k: v for k, v in _values(form, CREATE_FIELDS).items() if v is not None
    }
    values.update(_checkboxes(form))
    try:
        data = TenantCreate.model_validate(values)
        created = await tenants.create(session, data, default_zone=default_zone, base=base)
    except ValidationError as exc:
        raise _validation_problems(exc) from None
    except PostbackError as exc:
        raise _refused(exc) from None
    return created.id, {str(k): v for k, v in created.secrets.items()}, created.postback_url


async def update(
    session: AsyncSession, tenant_id: int, form: Mapping[str, Any], *, default_zone: str
) -> None:
    values: dict[str, Any] = _values(form, UPDATE_FIELDS)
    values.update(_checkboxes(form))
    try:
        data = TenantUpdate.model_validate(values)
        await tenants.update(session, tenant_id, data, default_zone=default_zone)
    except ValidationError as exc:
        raise _validation_problems(exc) from None
    except NotFound:
        raise
    except PostbackError as exc:
        raise _refused(exc) from None


async def set_enabled(
    session: AsyncSession, tenant_id: int, enabled: bool, *, default_zone: str
) -> None:
    try:
        await tenants.enable(session, tenant_id, enabled, default_zone=default_zone)
    except NotFound:
        raise
    except PostbackError as exc:
        raise _refused(exc) from None


async def rotate(
    session: AsyncSession, tenant_id: int, kind: object, *, default_zone: str, base: str
) -> tuple[SecretKind, str, str]:
    """The kind rotated, the new secret and the postback URL carrying it when it is a token."""
    if kind not in tenants.SECRET_KINDS:
        raise FormInvalid([Problem("kind", f"must be one of {', '.join(tenants.SECRET_KINDS)}")])
    chosen: SecretKind = kind
    try:
        rotated = await tenants.rotate(
            session, tenant_id, chosen, None, default_zone=default_zone, base=base
        )
    except NotFound:
        raise
    except PostbackError as exc:
        raise _refused(exc) from None
    return chosen, rotated.secret, rotated.postback_url


# --- Pages ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartnerPage:
    tenant: TenantOut
    postback_url: PostbackUrl
    conversions: Sequence[Any]
    rejections: Sequence[Any]
    default_zone: str


async def partners(session: AsyncSession, default_zone: str) -> list[TenantOut]:
    return await tenants.list_tenants(session, default_zone)


async def partner_page(
    session: AsyncSession, tenant_id: int, *, default_zone: str, base: str
) -> PartnerPage:
    tenant = await tenants.get_tenant(session, tenant_id, default_zone)
    return PartnerPage(
        tenant=tenant,
        postback_url=await tenants.postback_url_of(session, tenant_id, base),
        conversions=await repository.recent_conversions(session, tenant_id, RECENT_ROWS),
        rejections=await repository.recent_rejections(session, tenant_id, RECENT_ROWS),
        default_zone=default_zone,
    )
