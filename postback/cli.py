"""The `postback` command line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from enum import StrEnum
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from postback import migrate as migrations
from postback.db import sqlalchemy_url
from postback.embedded import EmbeddedPostgres
from postback.lifecycle.service import BATCH_SIZE
from postback.settings import get_settings
from postback.tenants import service as tenant_service
from postback.tenants.schemas import Rotated, TenantOut, TenantUpdate

app = typer.Typer(
    help="Postback: affiliate conversion postbacks on PostgreSQL.", no_args_is_help=True
)
tenants = typer.Typer(help="Manage partners (tenants).", no_args_is_help=True)
app.add_typer(tenants, name="tenants")

# The tenant table's slug_format check, so a bad slug is an error message, not a traceback.
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def _valid_slug(value: str) -> str:
    if not SLUG.fullmatch(value):
        raise typer.BadParameter(
            f"{value!r}: use 1 to 63 lowercase letters, digits and dashes, such as shopee-my"
        )
    return value


def _valid_optional_slug(value: str | None) -> str | None:
    return None if value is None else _valid_slug(value)


@contextlib.contextmanager
def database_url() -> Iterator[str]:
    """DATABASE_URL, or the embedded server (started for the command, stopped after)."""
    settings = get_settings()
    if settings.database_url is not None:
        yield settings.database_url.get_secret_value()
        return
    embedded = EmbeddedPostgres(settings.home_dir)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "postback.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        loop="uvloop",
        http="postback.web.protocol:JoinedWritesProtocol",
        access_log=False,
        proxy_headers=True,
        log_level=settings.log_level.lower(),
        # On SIGTERM, requests in flight finish (a postback waits milliseconds for its batch);
        # a dashboard's live feed, which would stream for minutes, is cut after this.
        timeout_graceful_shutdown=10,
    )


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    with database_url() as url:
        migrations.upgrade_sync(url)
    typer.echo("database is up to date")


@app.command()
def bench(
    duration: Annotated[float, typer.Option(min=1, help="Seconds of load per phase")] = 15.0,
    warmup: Annotated[float, typer.Option(min=0, help="Seconds of load before each")] = 2.0,
    connections: Annotated[int, typer.Option(min=1, help="Concurrent senders")] = 32,
    workers: Annotated[int, typer.Option(min=1, help="Server worker processes")] = 1,
    threads: Annotated[int, typer.Option(min=1, help="wrk threads")] = 1,
    partners: Annotated[int, typer.Option(min=1, max=4, help="Partners (ts_tokens)")] = 4,
    repeat: Annotated[float, typer.Option(min=0, max=0.5, help="Share of retries")] = 0.05,
    database_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL to use (the run's partners are removed after)"),
    ] = None,
    profile: Annotated[bool, typer.Option(help="Also sample the service with py-spy")] = False,
    output: Annotated[
        str, typer.Option(help="Markdown file for the results ('' for none)")
    ] = "docs/benchmarks.md",
    keep: Annotated[bool, typer.Option(help="Keep the run's files and partners")] = False,
    stages: Annotated[
        bool, typer.Option(help="Also run the service with storage taken out, to split its cost")
    ] = False,
) -> None:
    """Measure postbacks/s, latency and memory against a bare ASGI ceiling."""
    from pathlib import Path

    from postback.bench import report
    from postback.bench.runner import BenchOptions, run_bench

    if connections % threads:
        raise typer.BadParameter("must divide --connections evenly", param_hint="--threads")
    options = BenchOptions(
        duration=duration,
        warmup=warmup,
        connections=connections,
        workers=workers,
        threads=threads,
        partners=partners,
        repeat=repeat,
        database_url=database_url,
        profile=profile,
        keep=keep,
        stages=stages,
    )
    try:
        result = run_bench(options, say=typer.echo)
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(report.console(result))
    if output:
        report.write_markdown(Path(output), result)
        typer.echo(f"\nwritten to {output}")
    if not result.database_matches:
        raise typer.Exit(1)


@app.command("bench-dashboard")
def bench_dashboard(
    rows: Annotated[int, typer.Option(min=1000, help="Conversions to load")] = 10_000_000,
    repeat: Annotated[int, typer.Option(min=3, help="Timed requests per endpoint")] = 30,
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL to use (default: an embedded one)")
    ] = None,
    fresh: Annotated[bool, typer.Option(help="Reload even if the data set is there")] = False,
    output: Annotated[
        str, typer.Option(help="Markdown file for the results ('' for none)")
    ] = "docs/benchmarks-dashboard.md",
) -> None:
    """Load conversions in bulk, then time every dashboard data request (p50/p95/max)."""
    import sys
    from pathlib import Path

    from postback.bench import dashboard

    result = dashboard.run(
        rows=rows,
        repeat=repeat,
        database_url=database_url,
        fresh=fresh,
        home=get_settings().home_dir,
        command="postback " + " ".join(sys.argv[1:]),
        say=typer.echo,
    )
    text = dashboard.markdown(result)
    typer.echo(text)
    if output:
        Path(output).write_text(text)
        typer.echo(f"written to {output}")


@app.command()
def faults(
    phase_seconds: Annotated[float, typer.Option(min=1, help="Seconds of load per phase")] = 10.0,
    outage_seconds: Annotated[float, typer.Option(min=1, help="PostgreSQL down for")] = 20.0,
    senders: Annotated[int, typer.Option(min=1, help="Concurrent senders")] = 24,
    output: Annotated[
        str, typer.Option(help="Markdown file for the results ('' for none)")
    ] = "docs/reliability.md",
    keep: Annotated[bool, typer.Option(help="Keep the run's files (request log, logs)")] = False,
) -> None:
    """Restart and stop PostgreSQL, SIGTERM and SIGKILL the service under load; count losses."""
    from pathlib import Path

    from postback.bench.faults import FaultOptions, console, run_faults, write_markdown

    options = FaultOptions(
        phase_seconds=phase_seconds, outage_seconds=outage_seconds, senders=senders, keep=keep
    )
    try:
        result = run_faults(options, say=typer.echo)
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(console(result))
    if output:
        write_markdown(Path(output), result)
        typer.echo(f"\nwritten to {output}")
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def cleanup(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be removed")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Rows per delete transaction")
    ] = BATCH_SIZE,
) -> None:
    """Delete rows older than each partner's retention (for cron); prints what went."""
    import sys
    from datetime import UTC, datetime

    import structlog

    from postback.lifecycle import jobs
    from postback.lifecycle.schemas import CleanupReport
    from postback.logging import configure_logging

    configure_logging(get_settings())
    # The report table owns stdout; log lines go to stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))

    async def run(url: str) -> CleanupReport | None:
        await migrations.upgrade(url)
        engine = create_async_engine(sqlalchemy_url(url))
        try:
            return await jobs.run_cleanup(
                engine, now=datetime.now(UTC), dry_run=dry_run, batch_size=batch_size
            )
        finally:
            await engine.dispose()

    with database_url() as url:
        report = asyncio.run(run(url))
    if report is None:
        typer.echo("skipped: another cleanup is running (it holds the advisory lock)")
        return
    typer.echo(report.as_table())


@app.command()
def ask(
    question: Annotated[
        str, typer.Argument(help="In Chinese or English, e.g. 昨天每个offer的佣金是多少？")
    ],
    partner: Annotated[
        str | None,
        typer.Option(
            help="Answer as this partner (slug): only its data", callback=_valid_optional_slug
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON answer")] = False,
) -> None:
    """Ask a question about conversions; prints the interpretation, a table and the SQL."""
    from postback.nlq.terminal import ask as answer_question

    settings = get_settings()
    with database_url() as url:
        printed = asyncio.run(
            answer_question(url, question, partner=partner, as_json=as_json, settings=settings)
        )
    typer.echo(printed.stdout, nl=False)
    if printed.stderr:
        typer.echo(printed.stderr, nl=False, err=True)
    raise typer.Exit(printed.code)


@app.command("bench-nlq")
def bench_nlq(
    rows: Annotated[int, typer.Option(min=1000, help="Conversions to load")] = 1_000_000,
    rounds: Annotated[int, typer.Option(min=1, help="Times each question is asked")] = 20,
    database_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL server to use (a new database is made and dropped)"),
    ] = None,
    output: Annotated[
        str, typer.Option(help="Markdown file for the results ('' for none)")
    ] = "docs/benchmarks-nlq.md",
    keep: Annotated[bool, typer.Option(help="Keep the run's database")] = False,
) -> None:
    """Answer latency of natural-language questions on a million conversions."""
    import shlex
    import sys
    from pathlib import Path

    from postback.bench import nlq

    options = nlq.Options(rows=rows, rounds=rounds, database_url=database_url, keep=keep)
    result = nlq.run_bench(options, say=typer.echo)
    typer.echo(nlq.console(result))
    if output:
        arguments = [a for a in sys.argv[1:] if not a.startswith("postgres")]
        command = "postback " + " ".join(shlex.quote(a) for a in arguments)
        nlq.write_markdown(Path(output), result, command)
        typer.echo(f"\nwritten to {output}")
    if not result.ok:
        raise typer.Exit(1)


@contextlib.asynccontextmanager
async def _session(url: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            yield session
    finally:
        await engine.dispose()


@tenants.command("create")
def tenants_create(
    name: Annotated[str, typer.Option(help="Display name")],
    slug: Annotated[
        str,
        typer.Option(help="Short id: lowercase letters, digits, dashes", callback=_valid_slug),
    ],
    ts_token: Annotated[
        str | None, typer.Option(help="Token Involve Asia sends as ts_token")
    ] = None,
    ts_param: Annotated[str | None, typer.Option(help="Value sent as ts_param")] = None,
    tlm_token: Annotated[str | None, typer.Option(help="Value sent as tlm_token")] = None,
    retention_days: Annotated[int, typer.Option(min=1)] = 7,
    dedup: Annotated[bool, typer.Option(help="Flag repeated conversion_ids")] = True,
    timezone: Annotated[str | None, typer.Option(help="IANA timezone")] = None,
) -> None:
    """Create a partner; prints its secrets once."""

    async def run(url: str) -> tenant_service.CreatedTenant:
        await migrations.upgrade(url)
        async with _session(url) as session:
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
            )

    from postback.errors import PostbackError

    with database_url() as url:
        try:
            created = asyncio.run(run(url))
        except PostbackError as exc:
            typer.echo(f"error: {exc.field}: {exc.message}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"created partner {created.tenant.slug} (id {created.tenant.id})")
    for kind, value in created.secrets.items():
        typer.echo(f"  {kind}: {value}")
    typer.echo("Keep these now: they are stored hashed and cannot be shown again.")


T = TypeVar("T")


def _tenant_change(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction; a refusal is a message and exit code 1."""
    from pydantic import ValidationError

    from postback.errors import PostbackError

    async def run(url: str) -> T:
        await migrations.upgrade(url)
        async with _session(url) as session:
            return await work(session)

    with database_url() as url:
        try:
            return asyncio.run(run(url))
        except PostbackError as exc:
            typer.echo(f"error: {exc.field}: {exc.message}", err=True)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"]) or "request"
                typer.echo(f"error: {field}: {error['msg']}", err=True)
    raise typer.Exit(1)


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


@tenants.command("list")
def tenants_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, for scripts")] = False,
) -> None:
    """List partners with today's conversions and their last postback."""
    zone = get_settings().timezone
    found = _tenant_change(lambda session: tenant_service.list_tenants(session, zone))
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


@tenants.command("update")
def tenants_update(
    slug: Annotated[str, typer.Argument(help="The partner to change")],
    name: Annotated[str | None, typer.Option(help="New display name")] = None,
    new_slug: Annotated[
        str | None, typer.Option("--new-slug", help="New short id", callback=_valid_optional_slug)
    ] = None,
    ts_token: Annotated[str | None, typer.Option(help="New ts_token; '' removes it")] = None,
    ts_param: Annotated[str | None, typer.Option(help="New ts_param; '' removes it")] = None,
    tlm_token: Annotated[str | None, typer.Option(help="New tlm_token; '' removes it")] = None,
    retention_days: Annotated[int | None, typer.Option(min=1)] = None,
    dedup: Annotated[bool | None, typer.Option(help="Flag repeated conversion_ids")] = None,
    rate_limit: Annotated[
        int | None, typer.Option(min=0, help="Postbacks per minute; 0 for no limit")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA timezone; '' for the reporting timezone")
    ] = None,
) -> None:
    """Change a partner's settings; only the options given change."""
    changes: dict[str, object] = {
        key: value
        for key, value in {
            "name": name,
            "slug": new_slug,
            "retention_days": retention_days,
            "dedup_enabled": dedup,
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

    _echo_tenant(_tenant_change(work))


class SecretChoice(StrEnum):
    """The names of the secrets a partner has (names, not secrets)."""

    api_key = "api_key"
    ts_token = "ts_token"  # noqa: S105
    ts_param = "ts_param"
    tlm_token = "tlm_token"  # noqa: S105


@tenants.command("rotate")
def tenants_rotate(
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

    rotated = _tenant_change(work)
    typer.echo(f"rotated {rotated.kind} of partner {rotated.tenant.slug}")
    typer.echo(f"  {rotated.kind}: {rotated.secret}")
    typer.echo("Keep it now: it is stored hashed and cannot be shown again.")


def _set_enabled(slug: str, enabled: bool) -> None:
    zone = get_settings().timezone

    async def work(session: AsyncSession) -> TenantOut:
        tenant_id = await tenant_service.find_id(session, slug)
        return await tenant_service.enable(session, tenant_id, enabled, default_zone=zone)

    _echo_tenant(_tenant_change(work))


@tenants.command("disable")
def tenants_disable(slug: Annotated[str, typer.Argument(help="The partner")]) -> None:
    """Refuse a partner's postbacks (kept as rejections) and API key."""
    _set_enabled(slug, False)


@tenants.command("enable")
def tenants_enable(slug: Annotated[str, typer.Argument(help="The partner")]) -> None:
    """Accept a partner's postbacks and API key again."""
    _set_enabled(slug, True)


def main() -> None:
    app()
