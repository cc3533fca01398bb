"""The service as Cloud Run runs it (tests/deploy/cloudrun.py), against PostgreSQL on a
Cloud SQL-style unix socket: it starts, answers the probes, stores postbacks, logs JSON lines
Cloud Logging reads, and a SIGTERM under load loses no acknowledged postback."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.deploy.cloudrun import CloudRunService, read_only_prefix
from tests.deploy.cloudsql import cloud_sql_socket
from tests.ingest.processes import wait_until

PREFIX = read_only_prefix()
pytestmark = pytest.mark.skipif(
    PREFIX is None, reason="no private mount namespace here (unshare --mount not permitted)"
)
SENDERS = 8


@pytest.fixture(scope="module")
def socket_folder() -> Iterator[Path]:
    with cloud_sql_socket() as folder:
        yield folder


def url_for(folder: Path) -> str:
    """DATABASE_URL as Cloud Run's Cloud SQL connection is written."""
    return f"postgresql://postgres@/postgres?host={folder}"


async def started(service: CloudRunService, http: httpx.AsyncClient) -> None:
    async def probe() -> int | None:
        try:
            return (await http.get(f"{service.url}/health/live")).status_code
        except httpx.HTTPError:
            return None

    deadline = asyncio.get_running_loop().time() + 90
    while await probe() != 200:
        assert service.process.poll() is None, "exited at start-up:\n" + "\n".join(
            service.lines()[-20:]
        )
        assert asyncio.get_running_loop().time() < deadline, "did not start"
        await asyncio.sleep(0.2)


async def test_starts_stores_and_stops_without_loss(socket_folder: Path, tmp_path: Path) -> None:
    assert PREFIX is not None
    service = CloudRunService(url_for(socket_folder), tmp_path / "tmp", PREFIX)
    answered: Counter[str] = Counter()
    unanswered: set[str] = set()
    try:
        async with httpx.AsyncClient(timeout=15) as http:
            await started(service, http)
            health = await http.get(f"{service.url}/health")
            assert health.status_code == 200, health.text
            assert health.json()["database"] == "up"
            # The image's POSTBACK_ENV=production is in force (strict settings, JSON logs).
            info = (await http.get(f"{service.url}/info")).json()
            assert info["settings"]["environment"] == "production"

            async def sender(n: int) -> None:
                async with httpx.AsyncClient(timeout=15) as client:
                    for i in range(100_000):
                        conversion_id = f"CR-{n}-{i}"
                        try:
                            response = await client.get(
                                f"{service.url}/postback/",
                                params={"conversion_id": conversion_id, "status": "pending"},
                                headers={"X-Cloud-Trace-Context": f"{n:032x}/{i};o=1"},
                            )
                        except httpx.HTTPError:
                            unanswered.add(conversion_id)
                            return
                        if response.status_code == 200:
                            answered[conversion_id] += 1
                        else:
                            unanswered.add(conversion_id)
                            return

            senders = [asyncio.create_task(sender(n)) for n in range(SENDERS)]
            await wait_until(lambda: answered.total() >= 400, seconds=120)
            service.process.send_signal(signal.SIGTERM)  # what Cloud Run sends
            await asyncio.gather(*senders)
        code = await asyncio.to_thread(service.process.wait, 30)
        assert code in (0, -signal.SIGTERM), "\n".join(service.lines()[-20:])
    finally:
        service.close()

    conn = await asyncpg.connect(host=str(socket_folder), user="postgres", database="postgres")
    try:
        rows = await conn.fetch(
            "SELECT conversion_id FROM conversion WHERE conversion_id LIKE 'CR-%'"
        )
    finally:
        await conn.close()
    stored = Counter(r["conversion_id"] for r in rows)
    lost = answered - stored
    assert not lost, f"acknowledged postbacks missing: {list(lost)[:5]}"
    assert set(stored) - set(answered) <= unanswered
    spool = tmp_path / "tmp" / "postback" / "spool"
    assert not any(p.is_file() and p.stat().st_size for p in spool.rglob("*")), (
        "with the database up, a graceful stop leaves nothing in the spool"
    )

    # Every line is one JSON object carrying the fields Cloud Logging reads.
    records = [json.loads(line) for line in service.lines() if line.strip()]
    assert records, "the service logged nothing"
    assert all(isinstance(r, dict) and r.get("severity") for r in records)
    messages = [r.get("message") for r in records]
    assert "started" in messages
    assert "stopped" in messages
    assert {r["severity"] for r in records} <= {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


async def test_the_file_system_is_read_only_outside_the_temp_folder(tmp_path: Path) -> None:
    """The sandbox is real: writing outside TMPDIR fails inside it, inside TMPDIR works."""
    assert PREFIX is not None
    temp = tmp_path / "tmp"
    temp.mkdir()
    outside = tmp_path / "outside"
    script = f"touch {temp}/ok && ! touch {outside} 2>/dev/null"
    process = await asyncio.create_subprocess_exec(
        *PREFIX, "sh", "-c", script, env={"TMPDIR": str(temp), "PATH": "/usr/bin:/bin"}
    )
    assert await process.wait() == 0
    assert (temp / "ok").exists()
    assert not outside.exists()
