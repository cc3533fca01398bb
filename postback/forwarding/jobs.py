"""The delivery worker every instance runs: takes due deliveries and sends them.

`QueueWorker` is the machinery, whatever is sent: it claims what is due (SKIP LOCKED, so
instances never take the same attempt), sends up to `concurrency` at once, and keeps the
results in batches: one statement for whatever attempts finished meanwhile. It looks again
when a batch of postbacks was just stored (`wake()`, called by the write path) and at least
every `poll_interval` for retries coming due and deliveries queued by other instances. It
uses the database's job pool (two connections, shared with the alert notifications).
`DeliveryWorker` sends forwarded postbacks through it; the alert notifications
(postback/alerting/jobs.py) are another queue on the same machinery.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

import asyncpg
import structlog

from postback import metrics
from postback.forwarding import repository, service
from postback.forwarding.macros import masked
from postback.forwarding.repository import Claimed, Outcome
from postback.forwarding.sender import AttemptResult, Sender
from postback.forwarding.service import Policy

log = structlog.get_logger(__name__)

# The least time between two looks at an empty queue while the write path keeps waking it.
MIN_GAP = 0.05
# A claim waits for at least this share of the slots to be free, so claims come in batches.
CLAIM_SHARE = 4
# The most attempt results kept in one statement.
RECORD_BATCH = 500
# On a graceful stop, attempts under way get this long to finish.
STOP_GRACE = 5.0


def lease_seconds(timeout: float) -> float:
    """How long a claimed delivery is held: twice the attempt's time limit and 5 s, time to
    send and keep the result. Only once it runs out may another instance try the delivery
    again (the instance that claimed it died mid-attempt)."""
    return 2 * timeout + 5


Item = TypeVar("Item")
Result = TypeVar("Result")


class QueueWorker(Generic[Item, Result]):
    """Claims due items of a queue table, attempts up to `concurrency` at once, keeps the
    results in batches. A queue says how with four methods: `_claim` (leased for `lease`
    seconds, SKIP LOCKED), `_attempt` (one try, never raising), `_record` (a batch of
    results in one statement) and `_release` (claimed items given back unattempted)."""

    task_name = "postback-queue"

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        timeout: float,
        concurrency: int,
        poll_interval: float,
    ) -> None:
        self._pool = pool
        self._timeout = timeout
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._sending: dict[asyncio.Task[None], Item] = {}
        self._results: asyncio.Queue[Result] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.attempted = 0  # attempts this instance made since it started

    # What a queue defines.

    async def _claim(self, conn: asyncpg.Connection, limit: int, lease: float) -> list[Item]:
        raise NotImplementedError

    async def _attempt(self, item: Item) -> Result:
        raise NotImplementedError

    async def _record(self, conn: asyncpg.Connection, batch: Sequence[Result]) -> None:
        raise NotImplementedError

    async def _release(self, conn: asyncpg.Connection, items: Sequence[Item]) -> None:
        raise NotImplementedError

    # The machinery.

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not all(t.done() for t in self._tasks)

    def start(self) -> None:
        if self._concurrency > 0 and not self._tasks:
            self._tasks = [
                asyncio.create_task(self._claiming(), name=self.task_name),
                asyncio.create_task(self._recording(), name=self.task_name + "-results"),
            ]

    def wake(self, *_: object) -> None:
        """Look for due items soon (something that may have queued some was stored)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming; attempts under way get STOP_GRACE seconds, the rest are given back
        (due again at once, for the next instance to start); every result is kept."""
        if not self._tasks:
            return
        claiming, recording = self._tasks
        self._tasks = []
        await _cancel(claiming)
        if self._sending:
            await asyncio.wait(list(self._sending), timeout=STOP_GRACE)
        unfinished = list(self._sending.values())
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
        await _cancel(recording)
        await self._keep(self._drain())
        with contextlib.suppress(Exception):
            async with self._pool.acquire() as conn:
                await self._release(conn, unfinished)

    async def run_once(self) -> int:
        """Claim what is due and free slots allow, start sending it; how many were claimed."""
        free = self._concurrency - len(self._sending)
        if free <= 0:
            return 0
        async with self._pool.acquire() as conn:
            claimed = await self._claim(conn, free, lease_seconds(self._timeout))
        for item in claimed:
            task = asyncio.create_task(self._deliver(item))
            self._sending[task] = item
            task.add_done_callback(self._done)
        return len(claimed)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._sending.pop(task, None)
        if self._concurrency - len(self._sending) >= self._claim_at:
            self._wake.set()

    @property
    def _claim_at(self) -> int:
        return max(1, self._concurrency // CLAIM_SHARE)

    async def _claiming(self) -> None:
        while True:
            started = time.monotonic()
            claimed = 0
            if self._concurrency - len(self._sending) >= self._claim_at or not self._sending:
                try:
                    claimed = await self.run_once()
                except Exception:
                    log.exception("deliveries_claim_failed", queue=self.task_name)
            if claimed and len(self._sending) < self._concurrency:
                continue  # more may be due
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()
            rest = MIN_GAP - (time.monotonic() - started)
            if not claimed and rest > 0:
                await asyncio.sleep(rest)

    async def _deliver(self, item: Item) -> None:
        self.attempted += 1
        self._results.put_nowait(await self._attempt(item))

    def _drain(self, first: Result | None = None) -> list[Result]:
        batch = [first] if first is not None else []
        while len(batch) < RECORD_BATCH and not self._results.empty():
            batch.append(self._results.get_nowait())
        return batch

    async def _recording(self) -> None:
        while True:
            batch = self._drain(await self._results.get())
            await self._keep(batch)

    async def _keep(self, batch: list[Result]) -> None:
        if not batch:
            return
        try:
            async with self._pool.acquire() as conn:
                await self._record(conn, batch)
        except Exception:
            # Their leases run out and the items are tried again: at least once.
            log.exception("delivery_results_not_kept", queue=self.task_name, items=len(batch))


class DeliveryWorker(QueueWorker[Claimed, Outcome]):
    """Forwarded postbacks: the `delivery` table, sent with the forwarding `Sender`."""

    task_name = "postback-deliveries"

    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: Sender,
        policy: Policy,
        *,
        concurrency: int,
        poll_interval: float,
    ) -> None:
        super().__init__(
            pool, timeout=sender.timeout, concurrency=concurrency, poll_interval=poll_interval
        )
        self._sender = sender
        self._policy = policy

    async def _claim(self, conn: asyncpg.Connection, limit: int, lease: float) -> list[Claimed]:
        return await repository.claim(conn, limit=limit, lease=lease)

    async def _attempt(self, claimed: Claimed) -> Outcome:
        if claimed.conversion is None:
            result = AttemptResult(
                masked(claimed.url),
                datetime.now(UTC),
                0.0,
                error="the conversion is no longer stored (retention removed it)",
            )
            delay = None
        else:
            outgoing = service.outgoing(claimed, claimed.conversion, self._policy.zone)
            result = await self._sender.send(outgoing)
            delay = None if result.ok else service.next_delay(self._policy, claimed.round_attempt)
        metrics.observe_attempt(result.ok, delay is not None, result.latency_ms / 1000)
        return Outcome(claimed, result, delay)

    async def _record(self, conn: asyncpg.Connection, batch: Sequence[Outcome]) -> None:
        await repository.record(conn, batch)

    async def _release(self, conn: asyncpg.Connection, items: Sequence[Claimed]) -> None:
        await repository.release(conn, items)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
