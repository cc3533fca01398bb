"""`postback db …`: commands about the database as a whole."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from postback.system.verify import verify as run_verify

db = typer.Typer(help="The database as a whole: verify a move to another server.")


@db.command()
def verify(
    source: Annotated[str, typer.Argument(help="The database the data came from (URL)")],
    target: Annotated[str, typer.Argument(help="The database it was moved to (URL)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON")] = False,
) -> None:
    """Compare two databases after a move: revision, row counts, each partner's figures.

    Exit code 0 when every check holds, 1 when one does not, 2 when a database cannot be read.
    """
    try:
        checks = asyncio.run(run_verify(source, target))
    except (TimeoutError, OSError, ValueError) as exc:
        typer.echo(f"error: cannot reach a database: {exc}", err=True)
        raise typer.Exit(2) from exc
    except Exception as exc:  # asyncpg's errors: a missing table, refused credentials
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(2) from exc
    failed = [check for check in checks if not check.ok]
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {"check": c.name, "source": c.source, "target": c.target, "ok": c.ok}
                    for c in checks
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        width = max(len(check.name) for check in checks)
        for check in checks:
            mark = "ok  " if check.ok else "DIFF"
            typer.echo(f"{mark} {check.name:<{width}}  {check.source}  {check.target}".rstrip())
        typer.echo(
            f"{len(checks) - len(failed)} of {len(checks)} checks hold"
            + ("" if not failed else f"; {len(failed)} differ")
        )
    if failed:
        raise typer.Exit(1)
