"""An open live feed does not hold up the service's shutdown: SIGTERM ends the process even
while a dashboard streams (the feed would otherwise stream for minutes, then reconnect)."""

from __future__ import annotations

import signal

import httpx

from tests.fixtures import ADMIN_TOKEN
from tests.ingest.processes import Service


async def test_sigterm_ends_the_service_while_a_feed_is_open(db, database_url, tmp_path):
    service = Service(database_url, tmp_path / "home", tmp_path / "spool")
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            await service.ready(http)
            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            async with http.stream(
                "GET", f"{service.url}/dashboard/api/feed", headers=headers
            ) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                service.process.send_signal(signal.SIGTERM)
                # Service.wait gives up after 30 s: far less than the feed's own lifetime.
                code = await service.wait()
        assert code in (0, -signal.SIGTERM)
    finally:
        service.close()
