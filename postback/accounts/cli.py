"""`postback users …`: create, list, disable users and reset their passwords.

The shell acts as the admin (whoever can run it can read the admin token anyway)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from postback.accounts import service
from postback.accounts.models import Role
from postback.accounts.schemas import PasswordReset, UserCreate, UserCreated, UserOut, UserUpdate
from postback.auth import ADMIN
from postback.cli_support import run_change, valid_optional_slug

app = typer.Typer(help="Manage personal accounts (users and their roles).", no_args_is_help=True)


def _password(from_stdin: bool, prompt: bool) -> str | None:
    """The password chosen on stdin or at a prompt; None: generate one."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if prompt:
        entered: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return entered
    return None


@app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="The sign-in email")],
    role: Annotated[Role, typer.Option(help="admin, analyst or partner")],
    partner: Annotated[
        str | None,
        typer.Option(help="The partner's slug (role partner)", callback=valid_optional_slug),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line")
    ] = False,
    ask: Annotated[bool, typer.Option("--prompt", help="Ask for the password")] = False,
) -> None:
    """Create a user; without --password-stdin or --prompt, prints a generated password once."""
    chosen = _password(password_stdin, ask)

    async def work(session: AsyncSession) -> UserCreated:
        data = UserCreate(
            email=email, role=role, partner=partner, display_name=name, password=chosen
        )
        return await service.create_user(session, ADMIN, data)

    created = run_change(work)
    typer.echo(f"created user {created.email} (id {created.id}, {created.role})")
    if created.password:
        typer.echo(f"  password: {created.password}")
        typer.echo("Keep it now: it is stored hashed and cannot be shown again.")


@app.command("list")
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Every user, with its role, partner and state."""

    async def work(session: AsyncSession) -> list[UserOut]:
        return await service.list_users(session)

    users = run_change(work)
    if as_json:
        typer.echo(json.dumps([user.model_dump(mode="json") for user in users], indent=2))
        return
    for user in users:
        state = "disabled" if user.disabled else "active"
        partner = f" of {user.partner}" if user.partner else ""
        typer.echo(
            f"{user.email} (id {user.id}, {user.role}{partner}, {state}): {user.display_name}"
        )
    if not users:
        typer.echo("no users (the admin token signs in)")


@app.command("disable")
def disable(email: Annotated[str, typer.Argument(help="The user's email")]) -> None:
    """Disable a user: it cannot sign in, and its sessions end now."""

    async def work(session: AsyncSession) -> UserOut:
        user_id = await service.id_by_email(session, email)
        return await service.update_user(session, ADMIN, user_id, UserUpdate(disabled=True))

    user = run_change(work)
    typer.echo(f"disabled {user.email}; its sessions ended")


@app.command("reset-password")
def reset_password(email: Annotated[str, typer.Argument(help="The user's email")]) -> None:
    """A new generated password, printed once; the user's sessions end."""

    async def work(session: AsyncSession) -> PasswordReset:
        user_id = await service.id_by_email(session, email)
        return await service.reset_password(session, ADMIN, user_id)

    reset = run_change(work)
    typer.echo(f"new password for {email}: {reset.password}")
    typer.echo(
        f"{reset.sessions_revoked} session(s) ended. Keep the password now: it is shown once."
    )
