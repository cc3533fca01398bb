"""The service as a real process: SIGTERM flushes every pending batch, and after a database
outage and a SIGKILL every acknowledged postback is stored exactly once."""

from __future__ import annotations

import asyncio
import signal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from tests.ingest.processes import Service, stored_counts, wait_until


class Proxy:
    """A TCP proxy in front of PostgreSQL; stopping it is a database outage."""

    def __init__(self, database_url: str) -> None:
        self.parts = urlsplit(database_url)
        self.query = dict(parse_qsl(self.parts.query))
        self.host = self.query.pop("host", None) or self.parts.hostname or "127.0.0.1"
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        """The database URL through this proxy."""
        user = self.parts.netloc.rpartition("@")[0]
        netloc = f"{user}@127.0.0.1:{self.port}" if user else f"127.0.0.1:{self.port}"
        return urlunsplit((self.parts.scheme, netloc, self.parts.path, urlencode(self.query), ""))

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        port = self.parts.port or 5432
        if self.host.startswith("/"):  # the embedded server listens on a Unix socket
            return await asyncio.open_unix_connection(f"{self.host}/.s.PGSQL.{port}")
        return await asyncio.open_connection(self.host, port)

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await self._open_upstream()
        self._writers += [writer, upstream_writer]
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
        )


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def test_sigterm_stores_every_acknowledged_postback(db, database_url, tmp_path, http):
    service = Service(database_url, tmp_path / "home", tmp_path / "spool")
    acknowledged: list[str] = []

    async def sender(n: int) -> None:
        for i in range(10_000):
            conversion_id = f"TERM-{n}-{i}"
            try:
                response = await http.get(
                    f"{service.url}/postback/", params={"conversion_id": conversion_id}
                )
            except httpx.HTTPError:
                return  # the service stopped accepting
            if response.status_code == 200:
                acknowledged.append(conversion_id)

    try:
        await service.ready(http)
        senders = [asyncio.create_task(sender(n)) for n in range(32)]
        await wait_until(lambda: len(acknowledged) >= 300)
        service.process.send_signal(signal.SIGTERM)
        await asyncio.gather(*senders)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert await service.wait() in (0, -signal.SIGTERM)
    finally:
        service.close()
    stored = await stored_counts(db, "TERM-")
    assert all(stored.get(c) == 1 for c in acknowledged), "an acknowledged postback was lost"


async def test_outage_then_sigkill_loses_and_doubles_nothing(db, database_url, tmp_path, http):
    proxy = Proxy(database_url)
    await proxy.start()
    spool = tmp_path / "spool"
    first = Service(proxy.url, tmp_path / "home", spool)
    try:
        await first.ready(http)
        await proxy.stop()  # the database goes away

        async def send(conversion_id: str) -> httpx.Response:
            return await http.get(f"{first.url}/postback/", params={"conversion_id": conversion_id})

        sent = [f"KILL-{i}" for i in range(60)]
        responses = await asyncio.gather(*(send(c) for c in sent[:30]))
        responses += [await send(c) for c in sent[30:]]
        assert [r.status_code for r in responses] == [200] * len(sent)
        assert all(r.json()["spooled"] is True and r.json()["id"] is None for r in responses)
        health = await first.health(http)
        assert health is not None
        assert health["database"] == "down"
        assert health["spool_depth"] == len(sent)
        first.process.kill()  # SIGKILL: nothing is flushed, nothing runs at exit
        await first.wait()
    finally:
        first.close()
    assert await stored_counts(db, "KILL-") == {}

    second = Service(database_url, tmp_path / "home", spool)  # the database is back
    try:
        await second.ready(http)

        async def drained() -> bool:
            health = await second.health(http)
            return health is not None and health["spool_depth"] == 0

        deadline = asyncio.get_running_loop().time() + 30
        while not await drained():
            assert asyncio.get_running_loop().time() < deadline, "the spool was not replayed"
            await asyncio.sleep(0.1)
        health = await second.health(http)
        assert health is not None
        assert health["status"] == "ok"
    finally:
        second.process.send_signal(signal.SIGTERM)
        await second.wait()
        second.close()
    assert await stored_counts(db, "KILL-") == dict.fromkeys(sent, 1)
    assert await db.fetchval("SELECT count(*) FROM conversion WHERE is_duplicate") == 0
    assert list(spool.glob("*/*.seg")) == []
