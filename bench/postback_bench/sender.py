"""A postback sender for the fault run, in its own process, logging every request it makes.

`python -m postback_bench.sender URL LOG --tokens T1,T2 --run RUN` runs `--senders` loops, each
sending one postback at a time as Involve Asia does: a new conversion id, or (`--repeat`) a later
status for a conversion it already got acknowledged. A postback answered `503`, or whose
connection failed, is sent again (same fields) until it gets an answer that is not `503`, as a
sender that retries would. Each attempt is one JSON line in LOG: time, postback number,
conversion id, partner, attempt, status (or the connection error) and the answer's
id / duplicate / spooled. SIGTERM (or SIGINT) stops new postbacks; the ones in progress are
retried until answered or until `--drain` seconds have passed.

A plain HTTP/1.1 client over asyncio streams, so the sender needs nothing beyond the standard
library and orjson, and every connection error is seen as it happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import time
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlencode, urlsplit

import orjson

STATUSES = ("pending", "pending", "pending", "approved", "rejected")
RETRY_PAUSE = (0.05, 0.1, 0.2, 0.5, 1.0)  # seconds before the n-th retry, then the last


class ConnectionFailed(Exception):
    """No complete answer: refused, reset, closed early or timed out."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]


class Connection:
    """One keep-alive HTTP/1.1 connection, opened on first use and after any failure."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._host, self._port, self._timeout = host, port, timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, target: str) -> Answer:
        try:
            return await asyncio.wait_for(self._exchange(target), self._timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.close()
            raise ConnectionFailed(type(exc).__name__) from exc

    async def _exchange(self, target: str) -> Answer:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        request = f"GET {target} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n\r\n"
        self._writer.write(request.encode())
        await self._writer.drain()
        status_line = await self._reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self._reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        raw = await self._reader.readexactly(length)
        if close:
            self.close()
        try:
            body = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            body = {}
        return Answer(status, body if isinstance(body, dict) else {})

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


@dataclass(slots=True)
class Sender:
    number: int
    connection: Connection
    path: str
    tokens: list[str]
    run: str
    repeat: float
    pause: float
    log: IO[bytes]
    stopping: asyncio.Event
    drain_deadline: list[float]  # set when stopping: retries give up after it
    count: int = 0

    async def run_loop(self) -> None:
        acknowledged: list[tuple[str, int]] = []  # (conversion id, partner) got a 200
        rng = random.Random(self.number)  # noqa: S311 (traffic, not secrets)
        while not self.stopping.is_set():
            if acknowledged and rng.random() < self.repeat:
                conversion_id, partner = rng.choice(acknowledged)
                status = "approved"
            else:
                conversion_id = f"F{self.run}-{self.number}-{self.count}"
                partner = rng.randrange(len(self.tokens))
                status = rng.choice(STATUSES)
            if await self.deliver(conversion_id, partner, status) == 200:
                acknowledged.append((conversion_id, partner))
            if self.pause:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), self.pause)
        self.connection.close()

    async def deliver(self, conversion_id: str, partner: int, status: str) -> int | None:
        """Send one postback until it gets an answer other than 503; the last status."""
        postback = f"{self.number}-{self.count}"
        self.count += 1
        query = urlencode(
            {
                "conversion_id": conversion_id,
                "status": status,
                "offer_id": "3456",
                "offer_name": "Shopee MY",
                "usd_payout": "1.25",
                "myr_payout": "5.59",
                "ts_token": self.tokens[partner],
            }
        )
        attempt = 0
        while True:
            started = time.time()
            line: dict[str, Any] = {
                "t": started,
                "postback": postback,
                "conversion_id": conversion_id,
                "partner": partner,
                "attempt": attempt,
            }
            answer: Answer | None = None
            try:
                answer = await self.connection.get(f"{self.path}?{query}")
            except ConnectionFailed as exc:
                line["error"] = str(exc)
            if answer is not None:
                line["status"] = answer.status
                for key in ("id", "duplicate", "spooled"):
                    if key in answer.body:
                        line[key] = answer.body[key]
            line["done"] = time.time()
            self.log.write(orjson.dumps(line) + b"\n")
            if answer is not None and answer.status != 503:
                return answer.status
            if self.stopping.is_set() and time.time() > self.drain_deadline[0]:
                return None
            await asyncio.sleep(RETRY_PAUSE[min(attempt, len(RETRY_PAUSE) - 1)])
            attempt += 1


async def send(args: argparse.Namespace) -> None:
    parts = urlsplit(args.url)
    stopping = asyncio.Event()
    deadline = [float("inf")]

    def stop() -> None:
        deadline[0] = time.time() + args.drain
        stopping.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    with open(args.log, "ab", buffering=1 << 16) as log:  # noqa: ASYNC230 (local, buffered)
        senders = [
            Sender(
                number=n,
                connection=Connection(
                    parts.hostname or "127.0.0.1", parts.port or 80, args.timeout
                ),
                path=parts.path or "/",
                tokens=args.tokens.split(","),
                run=args.run,
                repeat=args.repeat,
                pause=args.pause,
                log=log,
                stopping=stopping,
                drain_deadline=deadline,
            )
            for n in range(args.senders)
        ]
        await asyncio.gather(*(s.run_loop() for s in senders))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url", help="the postback URL, e.g. http://127.0.0.1:8000/postback/")
    parser.add_argument("log", help="JSON lines file, one line per request")
    parser.add_argument("--tokens", required=True, help="partners' ts_tokens, comma-separated")
    parser.add_argument("--run", required=True, help="prefix of the conversion ids")
    parser.add_argument("--senders", type=int, default=24)
    parser.add_argument("--repeat", type=float, default=0.05)
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between postbacks")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--drain", type=float, default=30.0)
    asyncio.run(send(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
