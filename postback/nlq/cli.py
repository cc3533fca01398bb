"""`postback ask …`: a question about conversions answered in the terminal."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from postback.cli_support import database_url, valid_optional_slug
from postback.settings import get_settings


def ask(
    question: Annotated[
        str, typer.Argument(help="In Chinese or English, e.g. 昨天每个offer的佣金是多少？")
    ],
    partner: Annotated[
        str | None,
        typer.Option(
            help="Answer as this partner (slug): only its data", callback=valid_optional_slug
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
