"""`postback serve --workers 2` under load: both processes take postbacks, every acknowledged
postback is stored once with the outcome it was answered, repeats sent to both workers at the
same moment leave one first row, and SIGTERM in the middle of the load loses nothing."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import httpx
import psutil

from tests.ingest.processes import Service, wait_until

SENDERS = 32


def _clients(process: psutil.Process, port: int) -> int:
    """Client connections this worker holds on the service's port."""
    return sum(
        1
        for c in process.net_connections(kind="tcp")
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


async def test_two_workers_store_every_acknowledged_postback_once(db, database_url, tmp_path):
    service = Service(database_url, tmp_path / "home", tmp_path / "spool", workers=2)
    answered: Counter[tuple[str, bool]] = Counter()  # (conversion_id, duplicate) -> 200s
    racing: list[str] = []
    unanswered: set[str] = set()  # sent when the service stopped: maybe stored, never answered
    stop = asyncio.Event()

    async def sender(n: int) -> None:
        # One connection per sender, kept alive: the kernel spreads them over the workers.
        async with httpx.AsyncClient(timeout=15) as http:
            for i in range(100_000):
                if stop.is_set():
                    return
                conversion_id = f"W2-{n}-{i}"
                if i % 20 == 19:  # a retry of one already acknowledged
                    conversion_id = f"W2-{n}-{i - 7}"
                try:
                    response = await http.get(
                        f"{service.url}/postback/",
                        params={"conversion_id": conversion_id, "status": "pending"},
                    )
                except httpx.HTTPError:
                    unanswered.add(conversion_id)
                    return  # the service stopped accepting
                if response.status_code == 200:
                    answered[(conversion_id, response.json()["duplicate"])] += 1

    async def race(k: int) -> None:
        # The same new conversion on many fresh connections at once: they land on both
        # workers, whose batches race for the first row.
        conversion_id = f"W2-race-{k}"
        racing.append(conversion_id)

        async def one() -> None:
            async with httpx.AsyncClient(timeout=15) as http:
                response = await http.get(
                    f"{service.url}/postback/", params={"conversion_id": conversion_id}
                )
            assert response.status_code == 200
            answered[(conversion_id, response.json()["duplicate"])] += 1

        await asyncio.gather(*(one() for _ in range(8)))

    try:
        async with httpx.AsyncClient(timeout=15) as http:
            await service.ready(http)
        workers = [  # uvicorn's worker processes (not multiprocessing's resource tracker)
            child
            for child in psutil.Process(service.process.pid).children()
            if "spawn_main" in " ".join(child.cmdline())
        ]
        assert len(workers) == 2, "serve --workers 2 runs two worker processes"
        served = [0, 0]  # the most client connections each worker held at once

        def sample() -> None:
            for i, worker in enumerate(workers):
                served[i] = max(served[i], _clients(worker, service.port))

        senders = [asyncio.create_task(sender(n)) for n in range(SENDERS)]
        for k in range(10):
            await race(k)
            sample()
        # The kernel may hand a burst of new connections to whichever worker wakes first;
        # fresh connections while the load runs reach the other one too.
        for _ in range(200):
            if min(served) >= 1:
                break
            async with httpx.AsyncClient(timeout=15) as probe:
                assert (await probe.get(f"{service.url}/health")).status_code == 200
                sample()
        await wait_until(lambda: sum(answered.values()) >= 1500, seconds=120)
        sample()
        # Mid-load: SIGTERM makes both workers finish their batches before they exit.
        service.process.send_signal(signal.SIGTERM)
        await asyncio.gather(*senders)
        stop.set()
        assert await service.wait() in (0, -signal.SIGTERM)
    finally:
        service.close()

    assert min(served) >= 1, f"both workers must have served the load (connections {served})"
    rows = await db.fetch(
        "SELECT conversion_id, is_duplicate FROM conversion WHERE conversion_id LIKE 'W2-%'"
    )
    stored = Counter((r["conversion_id"], r["is_duplicate"]) for r in rows)
    lost = answered - stored
    assert not lost, f"acknowledged postbacks missing from the database: {list(lost)[:5]}"
    extra = stored - answered
    assert {cid for cid, _ in extra} <= unanswered, "stored rows nobody sent or was answered"
    assert extra.total() <= len(unanswered)
    firsts = Counter(cid for cid, duplicate in stored.elements() if not duplicate)
    assert set(firsts.values()) == {1}, "one first row per conversion"
    for conversion_id in racing:
        assert firsts[conversion_id] == 1
        assert stored[(conversion_id, True)] == 7
