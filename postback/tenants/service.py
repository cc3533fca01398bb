"""Creating tenants (partners). Secrets are generated or taken once, then kept hashed."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from postback.errors import Conflict, InvalidInput
from postback.security import hash_secret, new_secret
from postback.tenants import repository
from postback.tenants.models import Tenant

TOKEN_KINDS = ("ts_token", "ts_param", "tlm_token")


@dataclass(frozen=True, slots=True)
class CreatedTenant:
    tenant: Tenant
    # Shown once: the partner's API key and any token generated for it.
    secrets: dict[str, str]


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
) -> CreatedTenant:
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown timezone {timezone!r}", "timezone") from None
    tokens = {"ts_token": ts_token, "ts_param": ts_param, "tlm_token": tlm_token}
    secrets = {kind: value for kind, value in tokens.items() if value}
    if not secrets:
        secrets["ts_token"] = new_secret("ts")
    secrets["api_key"] = new_secret("pk")
    hashes = {f"{kind}_hash": hash_secret(value) for kind, value in secrets.items()}
    if await repository.slug_taken(session, slug):
        raise Conflict(f"slug {slug!r} is already used by another partner", "slug")
    for kind in TOKEN_KINDS:
        digest = hashes.get(f"{kind}_hash")
        if digest and await repository.token_taken(session, kind, digest):
            raise Conflict(f"this {kind} is already used by another partner", kind)
    tenant = Tenant(
        name=name,
        slug=slug,
        retention_days=retention_days,
        dedup_enabled=dedup_enabled,
        rate_limit_per_minute=rate_limit_per_minute,
        timezone=timezone,
        enabled=True,
        is_default=False,
        **hashes,
    )
    session.add(tenant)
    await session.flush()
    return CreatedTenant(tenant=tenant, secrets=secrets)
