"""`postback audit list`: the audit log on the server's command line, newest first."""

from __future__ import annotations

import json
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from postback.audit import service
from postback.audit.schemas import AuditPage, Filters
from postback.cli_support import run_change, valid_optional_slug
from postback.conversions.service import parse_moment
from postback.errors import NotFound
from postback.settings import get_settings
from postback.tenants import repository as tenants

app = typer.Typer(help="Read the audit log (who changed what).", no_args_is_help=True)


@app.command("list")
def list_(
    tenant: Annotated[
        str | None, typer.Option(help="Only this partner (slug)", callback=valid_optional_slug)
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor (its label)")] = None,
    action: Annotated[str | None, typer.Option(help="Actions starting with this")] = None,
    since: Annotated[str | None, typer.Option(help="From (date or ISO time)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for scripts")] = False,
) -> None:
    """The latest entries: when, who, action, target, and what changed."""
    settings = get_settings()

    async def work(session: AsyncSession) -> AuditPage:
        tenant_id = None
        if tenant is not None:
            tenant_id = await tenants.id_by_slug(session, tenant)
            if tenant_id is None:
                raise NotFound(f"no partner with slug {tenant!r}", "tenant")
        where = Filters(
            tenant_id=tenant_id,
            actor=actor,
            action=action,
            since=parse_moment(since, "since", ZoneInfo(settings.timezone)),
        )
        return await service.list_entries(session, where, limit)

    page = run_change(work)
    if as_json:
        typer.echo(json.dumps(page.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    for entry in page.items:
        target = entry.target.kind + (f" {entry.target.id}" if entry.target.id else "")
        name = f" ({entry.target.name})" if entry.target.name else ""
        when = entry.at.isoformat(timespec="seconds")
        typer.echo(
            f"{when}  {entry.actor.label} [{entry.actor.kind}]  {entry.action}  {target}{name}"
        )
        for line in service.diff(entry.before, entry.after):
            typer.echo(
                f"    {line.field}: {json.dumps(line.before, ensure_ascii=False)} -> "
                f"{json.dumps(line.after, ensure_ascii=False)}"
            )
