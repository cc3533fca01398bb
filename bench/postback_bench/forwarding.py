"""Receiving with forwarding on and off, alternated in one run (`postback-bench run`).

Each pair runs the service twice under the same load: once with no forward, once with one
forward per partner pointed at a receiver on this machine (the bare ASGI ceiling app, which
answers 200 at once). With forwarding on, every stored conversion also queues a delivery in
the same statement and the instance's delivery worker sends it while the load runs, so the
ratio on/off is what forwarding costs receiving. After an "on" phase the service keeps
running until its deliveries are sent, and that time is reported too.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from postback.db import asyncpg_url
from postback_bench.server import HOST, Server, free_port

FORWARD_URL = "/forward?c={conversion_id}&s={status}&p={payout}&e={event}"


@dataclass(frozen=True, slots=True)
class Backlog:
    queued: int  # deliveries queued during the phase
    sent_during_load: int  # of them, delivered by the end of the load
    drain_seconds: float  # from the end of the load until none was pending
    dead: int


async def set_forwards(url: str, tenant_ids: Sequence[int], target: str | None) -> None:
    """One forward per partner to `target`, or none (their deliveries go with them)."""
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        async with conn.transaction():
            await conn.execute("DELETE FROM forward WHERE tenant_id = ANY($1::int8[])", tenant_ids)
            if target is not None:
                await conn.executemany(
                    "INSERT INTO forward (tenant_id, url, events) "
                    "VALUES ($1, $2, '{created,status_changed}')",
                    [(tenant_id, target + FORWARD_URL) for tenant_id in tenant_ids],
                )
    finally:
        await conn.close()


async def delivery_states(url: str, tenant_ids: Sequence[int]) -> dict[str, int]:
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        rows = await conn.fetch(
            "SELECT state, count(*) AS n FROM delivery WHERE tenant_id = ANY($1::int8[]) "
            "GROUP BY state",
            tenant_ids,
        )
    finally:
        await conn.close()
    return {row["state"]: row["n"] for row in rows}


def wait_for_backlog(url: str, tenant_ids: Sequence[int], limit: float = 300) -> Backlog:
    """Called when the load ends, with the service still up: the deliveries it queued, how
    many were already sent, and how long the rest took."""
    at_end = asyncio.run(delivery_states(url, tenant_ids))
    started = time.monotonic()
    states = at_end
    while states.get("pending", 0) and time.monotonic() - started < limit:
        time.sleep(0.2)
        states = asyncio.run(delivery_states(url, tenant_ids))
    return Backlog(
        queued=sum(at_end.values()),
        sent_during_load=at_end.get("delivered", 0),
        drain_seconds=time.monotonic() - started if states.get("pending", 0) == 0 else float("nan"),
        dead=states.get("dead", 0),
    )


class Receiver:
    """The partners' tracker for the run: the ceiling app in its own process."""

    def __init__(self, work: Path) -> None:
        self.port = free_port()
        argv = [
            sys.executable, "-m", "uvicorn", "postback_bench.ceiling:app",
            "--host", HOST, "--port", str(self.port), "--loop", "uvloop",
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        self._server = Server(
            argv, os.environ, f"http://{HOST}:{self.port}/", work / "receiver.log"
        )

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> Receiver:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(None, None, None)
