"""The `postback-bench` command line: the measuring instruments, apart from the product's CLI."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from postback.settings import get_settings

app = typer.Typer(
    help="Measure Postback: throughput and latency, dashboard and question timings, faults.",
    no_args_is_help=True,
)

# What the written reports show as the command that produced them.
PROGRAM = "postback-bench"


def _invocation(*, hide_urls: bool = False) -> str:
    """This run's command line, as a reader would type it again."""
    arguments = sys.argv[1:]
    if hide_urls:
        arguments = [a for a in arguments if not a.startswith("postgres")]
    return " ".join([PROGRAM, *(shlex.quote(a) for a in arguments)])


@app.command()
def run(
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
    forwarding: Annotated[
        int,
        typer.Option(
            min=0,
            max=5,
            help="Pairs of service runs without and with one forward per partner (0: none)",
        ),
    ] = 0,
) -> None:
    """Measure postbacks/s, latency and memory against a bare ASGI ceiling."""
    from postback_bench import report
    from postback_bench.runner import BenchOptions, run_bench

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
        forwarding_pairs=forwarding,
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


@app.command()
def dashboard(
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
    from postback_bench import dashboard as bench_dashboard

    result = bench_dashboard.run(
        rows=rows,
        repeat=repeat,
        database_url=database_url,
        fresh=fresh,
        home=get_settings().home_dir,
        command=" ".join([PROGRAM, *sys.argv[1:]]),
        say=typer.echo,
    )
    text = bench_dashboard.markdown(result)
    typer.echo(text)
    if output:
        Path(output).write_text(text)
        typer.echo(f"written to {output}")


@app.command()
def sync(
    rows: Annotated[int, typer.Option(min=1000, help="Conversions to load")] = 10_000_000,
    database_url: Annotated[
        str, typer.Option(help="PostgreSQL server (a database of its own is created, then dropped)")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per batch")] = 10_000,
    keep: Annotated[
        bool, typer.Option(help="Keep the benchmark's database, and use a kept one of as many rows")
    ] = False,
    output: Annotated[
        str, typer.Option(help="Markdown file for the results ('' for none)")
    ] = "docs/benchmarks.md",
) -> None:
    """Export and sync N conversions (Parquet, DuckDB): rows/s and peak memory per step."""
    from postback_bench import sync as bench_sync

    result = bench_sync.run(
        rows=rows,
        database_url=database_url,
        batch_size=batch_size,
        keep=keep,
        command=_invocation(hide_urls=True),
        say=typer.echo,
    )
    text = bench_sync.markdown(result)
    typer.echo(text)
    if output:
        bench_sync.write_markdown(Path(output), text)
        typer.echo(f"written to {output}")


@app.command()
def search(
    rows: Annotated[int, typer.Option(min=1000, help="Conversions in the data set")] = 10_000_000,
    repeat: Annotated[int, typer.Option(min=3, help="Timed searches of each kind")] = 50,
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL to use (default: the dashboard's embedded one)")
    ] = None,
    output: Annotated[
        str, typer.Option(help="Markdown file for the results ('' for none)")
    ] = "docs/benchmarks-search.md",
) -> None:
    """Search latency (conversion_id, order_id, sub-ids, q prefix) on the dashboard's data set."""
    from postback_bench import search as bench_search

    result = bench_search.run(
        rows=rows,
        repeat=repeat,
        database_url=database_url,
        home=get_settings().home_dir,
        command=_invocation(hide_urls=True),
        say=typer.echo,
    )
    text = bench_search.markdown(result)
    typer.echo(text)
    if output:
        Path(output).write_text(text)
        typer.echo(f"written to {output}")


@app.command()
def history(
    rows: Annotated[int, typer.Option(min=100, help="Rows in the export")] = 100_000,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL server (default DATABASE_URL); a database is made and dropped"
        ),
    ] = None,
    output: Annotated[
        str, typer.Option(help="Markdown file for the results ('' for none)")
    ] = "docs/benchmarks-history.md",
) -> None:
    """`postback import` of an Involve Asia export, again, and the cleanup round after it."""
    import os

    from postback_bench import history as bench_history

    server = database_url or os.environ.get("DATABASE_URL")
    if not server:
        typer.echo("error: --database-url or DATABASE_URL names the server", err=True)
        raise typer.Exit(2)
    result = bench_history.run(server, rows, typer.echo)
    text = bench_history.markdown(result, _invocation(hide_urls=True))
    typer.echo(text)
    if output:
        Path(output).write_text(text)
        typer.echo(f"written to {output}")


@app.command()
def nlq(
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
    from postback_bench import nlq as bench_nlq

    options = bench_nlq.Options(rows=rows, rounds=rounds, database_url=database_url, keep=keep)
    result = bench_nlq.run_bench(options, say=typer.echo)
    typer.echo(bench_nlq.console(result))
    if output:
        bench_nlq.write_markdown(Path(output), result, _invocation(hide_urls=True))
        typer.echo(f"\nwritten to {output}")
    if not result.ok:
        raise typer.Exit(1)


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
    from postback_bench.faults import FaultOptions, console, run_faults, write_markdown

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


def main() -> None:
    app()
