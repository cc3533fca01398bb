"""The app's start: the admin token it generates is printed that once, and afterwards only
where it is kept. Each start is a real process (its own logging set-up), twice on one home."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.fixtures import COMMAND_TIMEOUT

START_AND_STOP = """
import asyncio
from asgi_lifespan import LifespanManager
from postback.app import create_app
from postback.settings import Settings

async def main():
    async with LifespanManager(create_app(Settings()), startup_timeout=60):
        pass

asyncio.run(main())
"""


async def start(database_url: str, home: Path, admin_token: str | None = None) -> str:
    """Start the app in a process of its own and stop it; what it printed."""
    env = {k: v for k, v in os.environ.items() if k not in ("POSTBACK_ADMIN_TOKEN", "LOG_LEVEL")}
    env |= {"DATABASE_URL": database_url, "POSTBACK_HOME": str(home), "LOG_LEVEL": "INFO"}
    env |= {"POSTBACK_CLEANUP_INTERVAL": "0", "POSTBACK_COMPACTION_INTERVAL": "0"}
    if admin_token is not None:
        env["POSTBACK_ADMIN_TOKEN"] = admin_token
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        START_AND_STOP,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT)
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_the_generated_admin_token_is_printed_once(app, database_url, tmp_path):
    home = tmp_path / "home"
    first = await start(database_url, home)
    token = (home / "admin_token").read_text().strip()
    assert token.startswith("pb_admin_")
    assert token in first
    assert str(home / "admin_token") in first

    again = await start(database_url, home)
    assert "started" in again  # the start was logged at this level
    assert token not in again
    assert str(home / "admin_token") in again  # where to find it
    assert (home / "admin_token").read_text().strip() == token


async def test_a_chosen_admin_token_is_never_printed(app, database_url, tmp_path):
    chosen = "chosen-admin-token-0123456789abcdef"
    output = await start(database_url, tmp_path / "home", chosen)
    assert "started" in output
    assert chosen not in output
    assert not (tmp_path / "home" / "admin_token").exists()
