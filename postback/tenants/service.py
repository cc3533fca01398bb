"""Managing tenants (partners). Secrets are generated or taken once, then kept hashed.

Uniqueness is checked first for a clear message, and the database's unique constraints are
mapped to the same 409 for the request that loses a race.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from postback.audit import service as audit
from postback.audit.schemas import Target
from postback.errors import Conflict, InvalidInput, NotFound
from postback.security import hash_secret, new_secret
from postback.tenants import postback_url, repository
from postback.tenants.models import Tenant
from postback.tenants.schemas import (
    PostbackUrl,
    Rotated,
    SecretKind,
    TenantCreate,
    TenantCreated,
    TenantOut,
    TenantUpdate,
    TokenKind,
)

TOKEN_KINDS: tuple[TokenKind, ...] = get_args(TokenKind)
SECRET_KINDS: tuple[SecretKind, ...] = get_args(SecretKind)
SECRET_PREFIXES = {"api_key": "pk", "ts_token": "ts", "ts_param": "tp", "tlm_token": "tlm"}
UNIQUE_FIELDS = {
    "uq_tenant_slug": "slug",
    "uq_tenant_api_key_hash": "api_key",
    **{f"uq_tenant_{kind}_hash": kind for kind in TOKEN_KINDS},
}


@dataclass(frozen=True, slots=True)
class CreatedTenant:
    tenant: Tenant
    # Shown once: the partner's API key and any token generated for it.
    secrets: dict[str, str]


@dataclass(frozen=True, slots=True)
class RotatedSecret:
    tenant: Tenant
    kind: SecretKind
    secret: str


def check_timezone(timezone: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown timezone {timezone[:64]!r}: use an IANA name such as Asia/Jakarta",
            "timezone",
        ) from None


def _taken_message(field: str) -> str:
    if field == "slug":
        return "this slug is already used by another partner"
    return f"this {field} is already used by another partner"


def _violated_constraint(exc: IntegrityError) -> str | None:
    """The constraint name asyncpg reports, found under SQLAlchemy's wrapper."""
    error: BaseException | None = exc.orig
    for _ in range(4):
        if error is None:
            return None
        name = getattr(error, "constraint_name", None)
        if isinstance(name, str):
            return name
        error = getattr(error, "orig", None) or error.__cause__
    return None


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        field = UNIQUE_FIELDS.get(_violated_constraint(exc) or "")
        if field is None:
            raise
        raise Conflict(_taken_message(field), field) from None


async def _check_slug_free(session: AsyncSession, slug: str, other_than: int | None) -> None:
    if await repository.slug_taken(session, slug, other_than=other_than):
        raise Conflict(f"slug {slug!r} is already used by another partner", "slug")


async def _check_token_free(
    session: AsyncSession, kind: str, digest: str, other_than: int | None
) -> None:
    if await repository.token_taken(session, kind, digest, other_than=other_than):
        raise Conflict(_taken_message(kind), kind)


def _target(tenant: Tenant) -> Target:
    return Target("tenant", tenant.id, tenant.name, tenant.id)


def _snapshot(tenant: Tenant) -> dict[str, Any]:
    """The partner's settings as its audit entries keep them (which secrets are set, never
    what they are)."""
    return {
        "name": tenant.name,
        "slug": tenant.slug,
        "enabled": tenant.enabled,
        "retention_days": tenant.retention_days,
        "dedup_enabled": tenant.dedup_enabled,
        "rate_limit_per_minute": tenant.rate_limit_per_minute,
        "timezone": tenant.timezone,
        "day_first_dates": tenant.day_first_dates,
        "decimal_comma": tenant.decimal_comma,
        **{kind: audit.MASK if getattr(tenant, f"{kind}_hash") else None for kind in SECRET_KINDS},
    }


async def _locked(session: AsyncSession, tenant_id: int) -> Tenant:
    tenant = await repository.lock_tenant(session, tenant_id)
    if tenant is None:
        raise NotFound(f"no partner with id {tenant_id}", "id")
    return tenant


async def create_tenant(
    session: AsyncSession,
    *,
    name: str,
    slug: str,
    ts_token: str | None = None,
    ts_param: str | None = None,
    tlm_token: str | None = None,
    retention_days: int = 7,
    dedup_enabled: bool = True,
    rate_limit_per_minute: int | None = None,
    timezone: str | None = None,
    day_first_dates: bool = False,
    decimal_comma: bool = False,
) -> CreatedTenant:
    if timezone is not None:
        check_timezone(timezone)
    tokens = {"ts_token": ts_token, "ts_param": ts_param, "tlm_token": tlm_token}
    secrets = {kind: value for kind, value in tokens.items() if value}
    if not secrets:
        secrets["ts_token"] = new_secret(SECRET_PREFIXES["ts_token"])
    secrets["api_key"] = new_secret(SECRET_PREFIXES["api_key"])
    hashes = {f"{kind}_hash": hash_secret(value) for kind, value in secrets.items()}
    await _check_slug_free(session, slug, None)
    for kind in TOKEN_KINDS:
        digest = hashes.get(f"{kind}_hash")
        if digest:
            await _check_token_free(session, kind, digest, None)
    tenant = Tenant(
        name=name,
        slug=slug,
        retention_days=retention_days,
        dedup_enabled=dedup_enabled,
        rate_limit_per_minute=rate_limit_per_minute,
        timezone=timezone,
        day_first_dates=day_first_dates,
        decimal_comma=decimal_comma,
        enabled=True,
        is_default=False,
        **hashes,
    )
    session.add(tenant)
    await _flush(session)
    await audit.record(session, "tenant.create", _target(tenant), after=_snapshot(tenant))
    return CreatedTenant(tenant=tenant, secrets=secrets)


async def update_tenant(
    session: AsyncSession,
    tenant_id: int,
    changes: Mapping[str, Any],
    *,
    action: str = "tenant.update",
) -> Tenant:
    """Apply the given fields; a token value replaces the token, None removes it. The audit
    entry (`action`) keeps the fields that changed."""
    tenant = await _locked(session, tenant_id)
    if not changes:
        return tenant
    before = _snapshot(tenant)
    fields = dict(changes)
    if tenant.is_default:
        if fields.get("slug", tenant.slug) != tenant.slug:
            raise Conflict("the default partner's slug cannot change", "slug")
        if fields.get("enabled", True) is False:
            raise Conflict("the default partner cannot be disabled", "enabled")
    if fields.get("timezone") is not None:
        check_timezone(fields["timezone"])
    if "slug" in fields:
        await _check_slug_free(session, fields["slug"], tenant.id)
    tokens = {kind: fields.pop(kind) for kind in TOKEN_KINDS if kind in fields}
    for kind, value in tokens.items():
        digest = hash_secret(value) if value else None
        if digest is not None:
            await _check_token_free(session, kind, digest, tenant.id)
        setattr(tenant, f"{kind}_hash", digest)
    if tokens and not tenant.is_default and not _has_token(tenant):
        raise InvalidInput(
            "a partner needs at least one of ts_token, ts_param, tlm_token to be found",
            next(iter(tokens)),
        )
    for field, value in fields.items():
        setattr(tenant, field, value)
    tenant.updated_at = func.now()
    await _flush(session)
    after = _snapshot(tenant) | {kind: audit.REPLACED for kind, value in tokens.items() if value}
    old, new = audit.changed(before, after)
    if new:
        await audit.record(session, action, _target(tenant), before=old, after=new)
    return tenant


def _has_token(tenant: Tenant) -> bool:
    return any(getattr(tenant, f"{kind}_hash") for kind in TOKEN_KINDS)


async def set_enabled(session: AsyncSession, tenant_id: int, enabled: bool) -> Tenant:
    action = "tenant.enable" if enabled else "tenant.disable"
    return await update_tenant(session, tenant_id, {"enabled": enabled}, action=action)


async def rotate_secret(
    session: AsyncSession, tenant_id: int, kind: SecretKind, value: str | None = None
) -> RotatedSecret:
    """Replace one secret (a new random one unless a token value is given); the old one dies."""
    if kind == "api_key" and value is not None:
        raise InvalidInput("API keys are always generated: send no value", "value")
    tenant = await _locked(session, tenant_id)
    secret = value or new_secret(SECRET_PREFIXES[kind])
    digest = hash_secret(secret)
    if kind != "api_key":
        await _check_token_free(session, kind, digest, tenant.id)
    was_set = getattr(tenant, f"{kind}_hash") is not None
    setattr(tenant, f"{kind}_hash", digest)
    tenant.updated_at = func.now()
    await _flush(session)
    await audit.record(
        session,
        "tenant.rotate_secret",
        _target(tenant),
        before={kind: audit.MASK if was_set else None},
        after={kind: audit.REPLACED},
    )
    return RotatedSecret(tenant=tenant, kind=kind, secret=secret)


async def find_id(session: AsyncSession, slug: str) -> int:
    tenant_id = await repository.id_by_slug(session, slug)
    if tenant_id is None:
        raise NotFound(f"no partner with slug {slug!r}", "slug")
    return tenant_id


# --- What the API shows ---------------------------------------------------------------


def _out(row: repository.TenantRow, default_zone: str) -> TenantOut:
    tenant, conversions_today, last_postback_at = row
    return TenantOut(
        id=tenant.id,
        name=tenant.name,
        slug=tenant.slug,
        is_default=tenant.is_default,
        enabled=tenant.enabled,
        retention_days=tenant.retention_days,
        dedup_enabled=tenant.dedup_enabled,
        rate_limit_per_minute=tenant.rate_limit_per_minute,
        timezone=tenant.timezone,
        reporting_timezone=tenant.timezone or default_zone,
        day_first_dates=tenant.day_first_dates,
        decimal_comma=tenant.decimal_comma,
        secrets_set=[k for k in SECRET_KINDS if getattr(tenant, f"{k}_hash")],
        conversions_today=conversions_today,
        last_postback_at=last_postback_at,
        created_at=tenant.created_at,
        updated_at=tenant.updated_at,
    )


async def list_tenants(session: AsyncSession, default_zone: str) -> list[TenantOut]:
    rows = await repository.list_with_activity(session, default_zone)
    return [_out(row, default_zone) for row in rows]


async def get_tenant(session: AsyncSession, tenant_id: int, default_zone: str) -> TenantOut:
    rows = await repository.list_with_activity(session, default_zone, tenant_id)
    if not rows:
        raise NotFound(f"no partner with id {tenant_id}", "id")
    return _out(rows[0], default_zone)


def _url_token_field(tenant: Tenant, known: Mapping[str, str] | None = None) -> TokenKind | None:
    """The token the URL carries: one just issued, else the first the tenant has."""
    issued = [k for k in TOKEN_KINDS if known and k in known]
    present = [k for k in TOKEN_KINDS if getattr(tenant, f"{k}_hash")]
    return next(iter(issued or present), None)


def _url(tenant: Tenant, base: str, known: Mapping[str, str]) -> str:
    field = _url_token_field(tenant, known)
    return postback_url.build(base, field, known.get(field) if field else None)


async def postback_url_of(session: AsyncSession, tenant_id: int, base: str) -> PostbackUrl:
    tenant = await repository.get_tenant(session, tenant_id)
    if tenant is None:
        raise NotFound(f"no partner with id {tenant_id}", "id")
    field = _url_token_field(tenant)
    return PostbackUrl(
        url=postback_url.build(base, field),
        token_field=field,
        token_included=False,
        macros=list(postback_url.MACROS),
    )


async def create(
    session: AsyncSession, data: TenantCreate, *, default_zone: str, base: str
) -> TenantCreated:
    created = await create_tenant(session, **data.model_dump())
    out = await get_tenant(session, created.tenant.id, default_zone)
    return TenantCreated(
        **out.model_dump(),
        secrets=created.secrets,
        postback_url=_url(created.tenant, base, created.secrets),
    )


async def update(
    session: AsyncSession, tenant_id: int, data: TenantUpdate, *, default_zone: str
) -> TenantOut:
    await update_tenant(session, tenant_id, data.model_dump(exclude_unset=True))
    return await get_tenant(session, tenant_id, default_zone)


async def enable(
    session: AsyncSession, tenant_id: int, enabled: bool, *, default_zone: str
) -> TenantOut:
    await set_enabled(session, tenant_id, enabled)
    return await get_tenant(session, tenant_id, default_zone)


async def rotate(
    session: AsyncSession,
    tenant_id: int,
    kind: SecretKind,
    value: str | None,
    *,
    default_zone: str,
    base: str,
) -> Rotated:
    rotated = await rotate_secret(session, tenant_id, kind, value)
    return Rotated(
        kind=kind,
        secret=rotated.secret,
        postback_url=_url(rotated.tenant, base, {kind: rotated.secret}),
        tenant=await get_tenant(session, tenant_id, default_zone),
    )
