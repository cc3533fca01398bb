"""`postback tenants …`: create, list, change, rotate, disable and enable partners."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from postback.cli_support import run_change, valid_optional_slug, valid_slug
from postback.settings import get_settings
from postback.tenants import service as tenant_service
from postback.tenants.schemas import Rotated, TenantOut, TenantUpdate

app = typer.Typer(help="Manage partners (tenants).", no_args_is_help=True)

RETENTION_HELP = (
    "Days of detail kept (duplicate rows, raw payloads, rejections, finished deliveries);"
    " conversions and rollups stay for POSTBACK_HISTORY_DAYS"
)
# Parsing options, for senders that cannot change how they write values.
DAY_FIRST_HELP = "Read dates such as 31/12/2026 23:59 day first"
DECIMAL_COMMA_HELP = "Read amounts such as 1.234,56 and 12,34 with a decimal comma"


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Display name")],
    slug: Annotated[
        str,
        typer.Option(help="Short id: lowercase letters, digits, dashes", callback=valid_slug),
    ],
    ts_token: Annotated[
        str | None, typer.Option(help="Token Involve Asia sends as ts_token")
    ] = None,
    ts_param: Annotated[str | None, typer.Option(help="Value sent as ts_param")] = None,
    tlm_token: Annotated[str | None, typer.Option(help="Value sent as tlm_token")] = None,
    retention_days: Annotated[int, typer.Option(min=1, help=RETENTION_HELP)] = 7,
    dedup: Annotated[bool, typer.Option(help="Flag repeated conversion_ids")] = True,
    timezone: Annotated[str | None, typer.Option(help="IANA timezone")] = None,
    day_first: Annotated[bool, typer.Option(help=DAY_FIRST_HELP)] = False,
    decimal_comma: Annotated[bool, typer.Option(help=DECIMAL_COMMA_HELP)] = False,
) -> None:
    """Create a partner; prints its secrets once."""

    async def work(session: AsyncSession) -> tenant_service.CreatedTenant:
        return await tenant_service.create_tenant(
            session,
            name=name,
            slug=slug,
            ts_token=ts_token,
            ts_param=ts_param,
            tlm_token=tlm_token,
            retention_days=retention_days,
            dedup_enabled=dedup,
            timezone=timezone,
            day_first_dates=day_first,
            decimal_comma=decimal_comma,
        )

    created = run_change(work)
    typer.echo(f"created partner {created.tenant.slug} (id {created.tenant.id})")
    for kind, value in created.secrets.items():
        typer.echo(f"  {kind}: {value}")
    typer.echo("Keep these now: they are stored hashed and cannot be shown again.")


def _echo_tenant(tenant: TenantOut) -> None:
    state = "enabled" if tenant.enabled else "disabled"
    default = ", default" if tenant.is_default else ""
    typer.echo(f"{tenant.slug} (id {tenant.id}, {state}{default}): {tenant.name}")
    limit = tenant.rate_limit_per_minute
    typer.echo(
        f"  secrets: {', '.join(tenant.secrets_set) or 'none'}; "
        f"retention {tenant.retention_days} days; dedup {'on' if tenant.dedup_enabled else 'off'}; "
        f"rate limit {f'{limit}/min' if limit else 'none'}; timezone {tenant.reporting_timezone}"
    )
    options = [
        name
        for name, on in (
            ("day-first dates", tenant.day_first_dates),
            ("decimal comma", tenant.decimal_comma),
        )
        if on
    ]
    typer.echo(f"  parsing: {', '.join(options) or 'standard'}")


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, for scripts")] = False,
) -> None:
    """List partners with today's conversions and their last postback."""
    zone = get_settings().timezone
    found = run_change(lambda session: tenant_service.list_tenants(session, zone))
    if as_json:
        typer.echo(json.dumps([t.model_dump(mode="json") for t in found], indent=2))
        return
    typer.echo(f"{'ID':>4}  {'SLUG':<24} {'ENABLED':<8} {'TODAY':>6}  LAST POSTBACK  NAME")
    for t in found:
        last = t.last_postback_at.isoformat(timespec="seconds") if t.last_postback_at else "-"
        enabled = "yes" if t.enabled else "no"
        typer.echo(
            f"{t.id:>4}  {t.slug:<24} {enabled:<8} {t.conversions_today:>6}  {last}  {t.name}"
        )


@app.command("update")
def update(
    slug: Annotated[str, typer.Argument(help="The partner to change")],
    name: Annotated[str | None, typer.Option(help="New display name")] = None,
    new_slug: Annotated[
        str | None, typer.Option("--new-slug", help="New short id", callback=valid_optional_slug)
    ] = None,
    ts_token: Annotated[str | None, typer.Option(help="New ts_token; '' removes it")] = None,
    ts_param: Annotated[str | None, typer.Option(help="New ts_param; '' removes it")] = None,
    tlm_token: Annotated[str | None, typer.Option(help="New tlm_token; '' removes it")] = None,
    retention_days: Annotated[int | None, typer.Option(min=1, help=RETENTION_HELP)] = None,
    dedup: Annotated[bool | None, typer.Option(help="Flag repeated conversion_ids")] = None,
    rate_limit: Annotated[
        int | None, typer.Option(min=0, help="Postbacks per minute; 0 for no limit")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA timezone; '' for the reporting timezone")
    ] = None,
    day_first: Annotated[bool | None, typer.Option(help=DAY_FIRST_HELP)] = None,
    decimal_comma: Annotated[bool | None, typer.Option(help=DECIMAL_COMMA_HELP)] = None,
) -> None:
    """Change a partner's settings; only the options given change."""
    changes: dict[str, object] = {
        key: value
        for key, value in {
            "name": name,
            "slug": new_slug,
            "retention_days": retention_days,
            "dedup_enabled": dedup,
            "day_first_dates": day_first,
            "decimal_comma": decimal_comma,
        }.items()
        if value is not None
    }
    for key, text in (("ts_token", ts_token), ("ts_param", ts_param), ("tlm_token", tlm_token)):
        if text is not None:
            changes[key] = text or None
    if rate_limit is not None:
        changes["rate_limit_per_minute"] = rate_limit or None
    if timezone is not None:
        changes["timezone"] = timezone or None
    zone = get_settings().timezone

    async def work(session: AsyncSession) -> TenantOut:
        data = TenantUpdate.model_validate(changes)
        tenant_id = await tenant_service.find_id(session, slug)
        return await tenant_service.update(session, tenant_id, data, default_zone=zone)

    _echo_tenant(run_change(work))


class SecretChoice(StrEnum):
    """The names of the secrets a partner has (names, not secrets)."""

    api_key = "api_key"
    ts_token = "ts_token"  # noqa: S105
    ts_param = "ts_param"
    tlm_token = "tlm_token"  # noqa: S105


@app.command("rotate")
def rotate(
    slug: Annotated[str, typer.Argument(help="The partner")],
    kind: Annotated[SecretChoice, typer.Argument(help="Which secret to replace")],
    value: Annotated[
        str | None, typer.Option(help="The new token (not for api_key); random when not given")
    ] = None,
) -> None:
    """Replace a partner's API key or token; prints the new one once, the old one stops."""
    settings = get_settings()
    base = settings.public_url or f"http://{settings.host}:{settings.port}"

    async def work(session: AsyncSession) -> Rotated:
        tenant_id = await tenant_service.find_id(session, slug)
        return await tenant_service.rotate(
            session, tenant_id, kind.value, value, default_zone=settings.timezone, base=base
        )

    rotated = run_change(work)
    typer.echo(f"rotated {rotated.kind} of partner {rotated.tenant.slug}")
    typer.echo(f"  {rotated.kind}: {rotated.secret}")
    typer.echo("Keep it now: it is stored hashed and cannot be shown again.")


def _set_enabled(slug: str, enabled: bool) -> None:
    zone = get_settings().timezone

    async def work(session: AsyncSession) -> TenantOut:
        tenant_id = await tenant_service.find_id(session, slug)
        return await tenant_service.enable(session, tenant_id, enabled, default_zone=zone)

    _echo_tenant(run_change(work))


@app.command("disable")
def disable(slug: Annotated[str, typer.Argument(help="The partner")]) -> None:
    """Refuse a partner's postbacks (kept as rejections) and API key."""
    _set_enabled(slug, False)


@app.command("enable")
def enable(slug: Annotated[str, typer.Argument(help="The partner")]) -> None:
    """Accept a partner's postbacks and API key again."""
    _set_enabled(slug, True)
