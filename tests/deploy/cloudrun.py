"""The service started as its container starts it on Cloud Run, without a cloud.

- The command is the image's (`postback serve`), with Cloud Run's environment: `PORT`,
  `K_SERVICE`, `K_REVISION`, `K_CONFIGURATION`, and the image's own variables.
- The file system is read-only except the temp folder, which holds the spool. This needs a
  private mount namespace: as root `unshare --mount`, otherwise a user namespace
  (`unshare --map-root-user --mount`) where the kernel allows one.
- The database is a real PostgreSQL listening only on a unix socket, in a folder named like
  the one Cloud Run mounts (`/cloudsql/PROJECT:REGION:INSTANCE`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.fixtures import _free_port

# What the Dockerfile sets (kept equal by tests/deploy/test_container.py).
IMAGE_ENV = {
    "POSTBACK_ENV": "production",
    "POSTBACK_HOME": "/tmp/postback",
    "POSTBACK_SPOOL_DIR": "/tmp/postback/spool",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}
ADMIN_TOKEN = "cloud-run-admin-token-0123456789"


def read_only_prefix() -> list[str] | None:
    """The command prefix that runs a program with / read-only but `TMPDIR` writable, or
    None where this machine cannot make a private mount namespace."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    flags = ["--mount"] if os.geteuid() == 0 else ["--map-root-user", "--mount"]
    probe = subprocess.run(
        [unshare, *flags, "--propagation", "private", "true"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        return None
    script = 'mount --bind "$TMPDIR" "$TMPDIR" && mount -o remount,bind,ro / && exec "$@"'
    return [unshare, *flags, "--propagation", "private", "sh", "-c", script, "sh"]


class CloudRunService:
    """`postback serve` as the container runs it, in its own process."""

    def __init__(self, database_url: str, temp: Path, prefix: list[str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.temp = temp
        temp.mkdir(parents=True, exist_ok=True)
        keep = {"PATH", "LANG", "LC_ALL", "SSL_CERT_FILE"}
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(IMAGE_ENV)
        env.update(
            PORT=str(self.port),
            K_SERVICE="postback",
            K_REVISION="postback-00001-abc",
            K_CONFIGURATION="postback",
            TMPDIR=str(temp),
            POSTBACK_HOME=str(temp / "postback"),
            POSTBACK_SPOOL_DIR=str(temp / "postback" / "spool"),
            DATABASE_URL=database_url,
            POSTBACK_ADMIN_TOKEN=ADMIN_TOKEN,
            POSTBACK_GCP_PROJECT="test-project",
            POSTBACK_TENANT_CACHE_SECONDS="0",
        )
        self.log_path = temp.parent / f"service-{self.port}.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*prefix, str(Path(sys.executable).parent / "postback"), "serve"],
            env=env,
            cwd="/",
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def lines(self) -> list[str]:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text().splitlines()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log.close()
