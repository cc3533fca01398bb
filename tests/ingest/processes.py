"""The service as a real process (`python -m postback serve`), for tests that signal it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.fixtures import ADMIN_TOKEN, _free_port


async def wait_until(condition: Callable[[], object], seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


class Service:
    """`python -m postback serve` in its own process."""

    def __init__(
        self,
        database_url: str,
        home: Path,
        spool: Path,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        extra = env
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "POST"))}
        env.update(
            DATABASE_URL=database_url,
            POSTBACK_HOME=str(home),
            POSTBACK_SPOOL_DIR=str(spool),
            POSTBACK_ADMIN_TOKEN=ADMIN_TOKEN,
            POSTBACK_PORT=str(self.port),
            POSTBACK_CLEANUP_INTERVAL="0",
            POSTBACK_TENANT_CACHE_SECONDS="0",
            LOG_LEVEL="WARNING",
        )
        env.update(extra or {})
        home.mkdir(parents=True, exist_ok=True)
        self.log = (home / f"service-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "postback", "serve", "--workers", str(workers)],
            env=env,
            cwd=home,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def health(self, http: httpx.AsyncClient) -> dict[str, object] | None:
        try:
            response = await http.get(f"{self.url}/health")
        except httpx.HTTPError:
            return None
        body: dict[str, object] = response.json()
        return body

    async def ready(self, http: httpx.AsyncClient) -> None:
        deadline = asyncio.get_running_loop().time() + 60
        while await self.health(http) is None:
            assert self.process.poll() is None, "the service exited at start-up"
            assert asyncio.get_running_loop().time() < deadline, "the service did not start"
            await asyncio.sleep(0.1)

    async def wait(self) -> int:
        return await asyncio.to_thread(self.process.wait, 30)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


async def stored_counts(db, prefix: str) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT conversion_id, count(*) AS n FROM conversion WHERE conversion_id LIKE $1 "
        "GROUP BY conversion_id",
        prefix + "%",
    )
    return {r["conversion_id"]: r["n"] for r in rows}
