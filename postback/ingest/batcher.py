"""Group commit: concurrent postbacks share one write, each answered when it is committed.

Requests append to a queue and wait on a future. A few writer tasks each take everything
queued (up to a batch size), store it on one connection and resolve the futures. There is no
surrounding transaction: the batch of conversions is one statement, atomic and committed on
its own (`repository.write_conversions`; rare repeats and replays take one or two more), and
the rejections are another. A crash between two statements leaves only rows whose senders
were not answered yet and will retry (docs/write-path.md). No timer is involved: while one
batch commits the next one gathers, so batches grow with the load and a lone postback is
written at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from postback.ingest import repository
from postback.ingest.repository import UNAVAILABLE
from postback.ingest.schemas import ConversionRow, RejectionRow, StoredConversion
from postback.ingest.spool import Spool

log = structlog.get_logger(__name__)


class Overloaded(Exception):
    """The queue is full; the sender should retry shortly."""


class StorageUnavailable(Exception):
    """The database could not be written; the sender should retry."""


class Unstorable(Exception):
    """This one postback was refused by the database itself (it is kept as a rejection)."""


@dataclass(slots=True)
class _Item:
    row: Any
    future: asyncio.Future[Any]


class Batcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_size: int,
        queue_limit: int,
        writers: int,
        on_batch: Callable[[int, float], None] | None = None,
        spool: Spool | None = None,
    ) -> None:
        self._pool = pool
        self._spool = spool
        self._max_size = max_size
        self._queue_limit = queue_limit
        self._writers = writers
        self._on_batch = on_batch
        self._conversions: deque[_Item] = deque()
        self._rejections: deque[_Item] = deque()
        self._ready = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def depth(self) -> int:
        return len(self._conversions) + len(self._rejections)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._writer(), name=f"batcher-{i}") for i in range(self._writers)
        ]

    async def stop(self) -> None:
        """Write everything queued, then stop the writers."""
        self._stopping = True
        self._ready.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def _enqueue(self, queue: deque[_Item], row: Any) -> asyncio.Future[Any]:
        if self._stopping:
            raise StorageUnavailable("the service is shutting down")
        if self.depth >= self._queue_limit:
            raise Overloaded("write queue is full")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        queue.append(_Item(row, future))
        self._ready.set()
        return future

    async def submit(self, row: ConversionRow) -> StoredConversion:
        result: StoredConversion = await self._enqueue(self._conversions, row)
        return result

    async def submit_rejection(self, row: RejectionRow) -> None:
        await self._enqueue(self._rejections, row)

    def _take(self, queue: deque[_Item]) -> list[_Item]:
        count = min(len(queue), self._max_size)
        return [queue.popleft() for _ in range(count)]

    async def _writer(self) -> None:
        while True:
            await self._ready.wait()
            conversions = self._take(self._conversions)
            rejections = self._take(self._rejections)
            if not self._conversions and not self._rejections and not self._stopping:
                self._ready.clear()
            if not conversions and not rejections:
                if self._stopping:
                    self._ready.set()  # let the other writers see the stop too
                    return
                continue
            await self._write(conversions, rejections)

    async def _write(self, conversions: list[_Item], rejections: list[_Item]) -> None:
        started = asyncio.get_running_loop().time()
        if conversions and self._spool is not None and self._spool.depth:
            # Postbacks acknowledged from the spool go to the database first (keeps order).
            await self._to_spool(conversions)
            conversions = []
            if not rejections:
                return
        try:
            stored, kept = await self._store(
                [i.row for i in conversions], [i.row for i in rejections]
            )
        except UNAVAILABLE as exc:
            log.warning("batch_unavailable", error=str(exc), size=len(conversions))
            unavailable = StorageUnavailable(str(exc) or type(exc).__name__)
            if self._spool is not None and conversions:
                _fail(rejections, unavailable)  # refusals are not spooled: 503, sender retries
                await self._to_spool(conversions)
                return
            _fail(conversions + rejections, unavailable)
            return
        except Exception as exc:  # never leave a sender waiting on a future
            log.exception("batch_failed")
            _fail(conversions + rejections, StorageUnavailable(repr(exc)))
            return
        _resolve(conversions, stored)
        _resolve(rejections, kept)
        if self._on_batch is not None:
            self._on_batch(len(conversions), asyncio.get_running_loop().time() - started)

    async def _to_spool(self, items: list[_Item]) -> None:
        """Keep the batch in the durable spool and answer its senders "spooled"."""
        assert self._spool is not None
        try:
            await self._spool.append([i.row for i in items])
        except Exception as exc:
            log.error("spool_write_failed", error=str(exc), size=len(items))
            _fail(items, StorageUnavailable(f"spool: {exc}"))
            return
        spooled = StoredConversion(None, duplicate=False, spooled=True)
        for item in items:
            if not item.future.done():
                item.future.set_result(spooled)

    async def _store(
        self, conversions: Sequence[ConversionRow], rejections: Sequence[RejectionRow]
    ) -> tuple[list[Any], list[Any]]:
        """Both queues' rows on one connection, each row's outcome or database error."""
        async with self._pool.acquire(timeout=10) as conn:
            stored = await repository.store_rows(conn, conversions) if conversions else []
            kept = await repository.store_rejections(conn, rejections) if rejections else []
        return stored, kept


def _resolve(items: list[_Item], outcomes: list[Any]) -> None:
    """Answer each sender: its outcome, or Unstorable when the database refused its row."""
    for item, outcome in zip(items, outcomes, strict=True):
        if item.future.done():
            continue
        if isinstance(outcome, asyncpg.PostgresError):
            log.error("row_unstorable", error=str(outcome))
            item.future.set_exception(Unstorable(str(outcome)))
        else:
            item.future.set_result(outcome)


def _fail(items: list[_Item], exc: Exception) -> None:
    for item in items:
        if not item.future.done():
            item.future.set_exception(exc)
