"""The README's "Try it" examples, run verbatim against a fresh `postback serve`.

A fresh start means no DATABASE_URL: the service starts its own embedded PostgreSQL in an
empty data folder, as on a new machine, and every curl example must print what the README says.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import AliasChoices
from pydantic.fields import FieldInfo

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = re.compile(
    r"```bash\n(?P<command>(?:TOKEN=[^\n]*\n)?curl [^\n]*)\n```\n```json\n(?P<answer>.*?)\n```",
    re.S,
)


def examples() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Try it", 1)[1].split("\n## ", 1)[0]
    return [(m["command"], m["answer"]) for m in EXAMPLE.finditer(section)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def fresh_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    workdir = tmp_path_factory.mktemp("fresh")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "POSTBACK_"))}
    env["POSTBACK_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "postback", "serve"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            time.sleep(0.3)
        else:
            pytest.fail("the service did not become healthy")
        yield workdir, port
    finally:
        process.terminate()
        output = process.communicate(timeout=60)[0].decode()
        # uvicorn re-raises SIGTERM after a clean shutdown, so -15 is a clean exit too.
        assert process.returncode in (0, -15), output
        assert "stopped" in output, output
        assert not (workdir / "data" / "pgdata" / "postmaster.pid").exists(), (
            "embedded PostgreSQL left running"
        )
        shutil.rmtree(workdir, ignore_errors=True)


def test_readme_has_examples() -> None:
    assert len(examples()) >= 6


def test_curl_examples_answer_as_documented(fresh_service: tuple[Path, int]) -> None:
    workdir, port = fresh_service
    assert (workdir / "data" / "admin_token").exists()
    for command, answer in examples():
        run = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        result = subprocess.run(
            ["bash", "-c", run], cwd=workdir, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, result.stderr
        expected = json.loads(answer)
        if "totals" in expected:
            # Rejections count by arrival time: the example's window holds them only in Nov 2026.
            inside = (
                datetime(2026, 11, 1, tzinfo=UTC)
                <= datetime.now(UTC)
                < datetime(2026, 12, 1, tzinfo=UTC)
            )
            expected["totals"]["rejections"] = expected["totals"]["rejections"] if inside else 0
        assert json.loads(result.stdout) == expected, command


def test_the_first_example_leaves_the_unfilled_macro_empty(fresh_service: tuple[Path, int]) -> None:
    """`curl -g` sends `{aff_sub}` as written (an unfilled macro, stored as no value); curl
    without -g would have sent `aff_sub=aff_sub`."""
    workdir, port = fresh_service
    token = (workdir / "data" / "admin_token").read_text().strip()
    answer = httpx.get(
        f"http://127.0.0.1:{port}/postback/conversions",
        params={"conversion_id": "IA-1001", "duplicates": "exclude"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert answer["total"] == 1
    first = answer["items"][0]
    assert first["aff_sub"] is None
    assert first["raw"]["aff_sub"] == "{aff_sub}"


def _commands() -> list[str]:
    """Every command line of `postback`, as `postback GROUP COMMAND`."""
    import typer

    from postback.cli import app

    found: list[str] = []
    pending: list[tuple[str, Any]] = [("postback", typer.main.get_command(app))]
    while pending:
        prefix, command = pending.pop()
        if hasattr(command, "commands"):  # a group
            pending.extend((f"{prefix} {name}", sub) for name, sub in command.commands.items())
        else:
            found.append(prefix)
    return sorted(found)


def test_every_command_is_in_the_readme() -> None:
    text = (ROOT / "README.md").read_text()
    commands = _commands()
    assert "postback tenants rotate" in commands  # the walk reaches the groups' commands
    missing = [command for command in commands if command not in text]
    assert missing == []


def test_every_setting_is_in_the_readme() -> None:
    from postback.settings import Settings

    text = (ROOT / "README.md").read_text()
    names = [env_name(name, field) for name, field in Settings.model_fields.items()]
    assert "POSTBACK_PUBLIC_URL" in names
    assert [name for name in names if f"`{name}`" not in text] == []


def env_name(name: str, field: FieldInfo) -> str:
    """The variable a setting is documented under: its alias, or the first of its choices."""
    if field.alias:
        return field.alias
    if isinstance(field.validation_alias, AliasChoices):
        return str(field.validation_alias.choices[0])
    return str(field.validation_alias or name)


def test_what_make_test_installs_is_explained() -> None:
    """Each Debian package `make system-deps` may install is named in the README, with why."""
    makefile = (ROOT / "Makefile").read_text()
    packages = re.findall(r'missing="\$\$missing ([\w-]+)"', makefile)
    assert packages == ["redis-server", "chromium", "fonts-noto-cjk"]
    assert "--no-install-recommends docker-compose" in makefile
    packages.append("docker-compose")
    development = (ROOT / "README.md").read_text().split("## Development", 1)[1]
    for package in packages:
        assert f"`{package}`" in development, package
