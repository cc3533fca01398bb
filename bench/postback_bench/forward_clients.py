"""CPU per outgoing request of the HTTP clients the delivery worker could use.

    python -m postback_bench.forward_clients [--requests 3000] [--in-flight 16]

A bare ASGI app (the ceiling app) in its own process is the receiver; each client sends the
same GETs with the same number in flight, in turns (httpx, aiohttp, the worker's Sender,
then again), and this process's CPU time per request is printed. Noisy machines shift every
figure; the ratio between clients in one run is what counts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx

from postback.forwarding.sender import Outgoing, Sender
from postback_bench.server import HOST, Server, free_port

Send = Callable[[int], Awaitable[None]]


async def _timed(name: str, send: Send, requests: int, in_flight: int) -> float:
    slots = asyncio.Semaphore(in_flight)

    async def one(n: int) -> None:
        async with slots:
            await send(n)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(requests)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"  {name:8} {requests / wall:8,.0f} requests/s  {cpu / requests * 1e6:7,.0f} µs CPU each"
    )
    return cpu / requests


async def _round(base: str, requests: int, in_flight: int) -> dict[str, float]:
    found = {}
    async with httpx.AsyncClient() as client:

        async def by_httpx(n: int) -> None:
            response = await client.get(f"{base}/f?c={n}")
            assert response.status_code == 200

        found["httpx"] = await _timed("httpx", by_httpx, requests, in_flight)
    async with aiohttp.ClientSession() as session:

        async def by_aiohttp(n: int) -> None:
            async with session.get(f"{base}/f?c={n}") as response:
                await response.content.read(512)
                assert response.status == 200

        found["aiohttp"] = await _timed("aiohttp", by_aiohttp, requests, in_flight)
    sender = Sender(timeout=10, allow_private=True)

    async def by_sender(n: int) -> None:
        result = await sender.send(Outgoing(f"{base}/f?c={n}", "GET", str(n)))
        assert result.ok, result

    try:
        found["Sender"] = await _timed("Sender", by_sender, requests, in_flight)
    finally:
        await sender.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "postback_bench.ceiling:app", "--host", HOST,
        "--port", str(port), "--loop", "uvloop", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    log = Path(tempfile.gettempdir()) / f"forward-clients-{port}.log"
    with Server(argv, os.environ, f"http://{HOST}:{port}/", log):
        for n in range(args.rounds):
            print(f"round {n + 1}:")
            found = asyncio.run(_round(f"http://{HOST}:{port}", args.requests, args.in_flight))
            print(f"  httpx / aiohttp: {found['httpx'] / found['aiohttp']:.1f}x")


if __name__ == "__main__":
    main()
