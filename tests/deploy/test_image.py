"""The image itself, built and run where this machine can: a Docker daemon and a base image
made here (`deploy/local-base.sh`: no registry with base images is reachable). The container
runs as the Dockerfile says (non-root, read-only root file system, /tmp in memory) with
Cloud Run's PORT and K_SERVICE, against PostgreSQL through a Cloud SQL-style socket mounted
at /cloudsql/PROJECT:REGION:INSTANCE; it starts, stores a postback, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.deploy.cloudsql import INSTANCE, cloud_sql_socket
from tests.fixtures import _free_port

ROOT = Path(__file__).resolve().parents[2]
BASE = "postback-base:bookworm"


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def why_not() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client"
    if docker("info", timeout=15).returncode != 0:
        return "no Docker daemon running"
    if docker("image", "inspect", BASE).returncode != 0:
        return f"no base image {BASE}: run deploy/local-base.sh"
    return None


REASON = why_not()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


async def test_the_image_builds_runs_and_stops_cleanly(tmp_path: Path) -> None:
    tag = f"postback:test-{uuid.uuid4().hex[:8]}"
    build = await asyncio.to_thread(
        docker,
        "build", "--network", "host", "--build-arg", f"PYTHON_IMAGE={BASE}",
        "-t", tag, str(ROOT),
        timeout=1200,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    name = f"postback-test-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    try:
        with cloud_sql_socket() as folder:
            socket = folder / ".s.PGSQL.5432"
            mounted = f"/cloudsql/{INSTANCE}"
            run = docker(
                "run", "-d", "--name", name, "--network", "host",
                "--read-only", "--tmpfs", "/tmp",
                "--mount", f"type=bind,source={socket},target={mounted}/.s.PGSQL.5432",
                "-e", f"PORT={port}", "-e", "K_SERVICE=postback",
                "-e", f"DATABASE_URL=postgresql://postgres@/postgres?host={mounted}",
                "-e", "POSTBACK_ADMIN_TOKEN=image-test-admin-token-0123456789",
                tag,
            )  # fmt: skip
            assert run.returncode == 0, run.stderr
            user = docker("inspect", "--format", "{{.Config.User}}", name).stdout.strip()
            assert user not in ("", "0", "root")
            url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(timeout=10) as http:
                for _ in range(300):
                    try:
                        if (await http.get(f"{url}/health/live")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.2)
                else:
                    pytest.fail("not started: " + docker("logs", name).stderr[-2000:])
                answer = await http.get(
                    f"{url}/postback/", params={"conversion_id": "IMG-1", "status": "pending"}
                )
                assert answer.status_code == 200, answer.text
            stop = await asyncio.to_thread(docker, "stop", "--time", "10", name)
            assert stop.returncode == 0
            state = json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)
            assert state["ExitCode"] == 0, state
            conn = await asyncpg.connect(host=str(folder), user="postgres", database="postgres")
            try:
                stored = await conn.fetchval(
                    "SELECT count(*) FROM conversion WHERE conversion_id = 'IMG-1'"
                )
            finally:
                await conn.close()
            assert stored == 1
            logs = docker("logs", name)
            output = (logs.stdout + logs.stderr).splitlines()
            lines = [json.loads(line) for line in output if line.strip()]
            assert {"started", "stopped"} <= {line.get("message") for line in lines}
            assert all(line.get("severity") for line in lines)
    finally:
        docker("rm", "-f", name)
        docker("image", "rm", "-f", tag)
