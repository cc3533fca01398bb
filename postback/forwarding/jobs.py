"""The delivery worker every instance runs: takes due deliveries and sends them.

It claims what is due (SKIP LOCKED, so instances never take the same attempt), sends up to
`concurrency` at once, and keeps the results in batches: one statement for whatever attempts
finished meanwhile. It looks again when a batch of postbacks was just stored (`wake()`, called
by the write path) and at least every `poll_interval` for retries coming due and deliveries
queued by other instances. It uses the database's job pool (two connections of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

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


class DeliveryWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: Sender,
        policy: Policy,
        *,
        concurrency: int,
        poll_interval: float,
    ) -> None:
        self._pool = pool
        self._sender = sender
        self._policy = policy
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._sending: dict[asyncio.Task[None], Claimed] = {}
        self._results: asyncio.Queue[Outcome] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.attempted = 0  # attempts this instance made since it started

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not all(t.done() for t in self._tasks)

    def start(self) -> None:
        if self._concurrency > 0 and not self._tasks:
            self._tasks = [
                asyncio.create_task(self._claiming(), name="postback-deliveries"),
                asyncio.create_task(self._recording(), name="postback-delivery-results"),
            ]

    def wake(self, *_: object) -> None:
        """Look for due deliveries soon (a batch that may have queued some was stored)."""
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
                await repository.release(conn, unfinished)

    async def run_once(self) -> int:
        """Claim what is due and free slots allow, start sending it; how many were claimed."""
        free = self._concurrency - len(self._sending)
        if free <= 0:
            return 0
        async with self._pool.acquire() as conn:
            claimed = await repository.claim(
                conn, limit=free, lease=lease_seconds(self._sender.timeout)
            )
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
                    log.exception("deliveries_claim_failed")
            if claimed and len(self._sending) < self._concurrency:
                continue  # more may be due
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()
            rest = MIN_GAP - (time.monotonic() - started)
            if not claimed and rest > 0:
                await asyncio.sleep(rest)

    async def _deliver(self, claimed: Claimed) -> None:
        self.attempted += 1
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
        self._results.put_nowait(Outcome(claimed, result, delay))

    def _drain(self, first: Outcome | None = None) -> list[Outcome]:
        batch = [first] if first is not None else []
        while len(batch) < RECORD_BATCH and not self._results.empty():
            batch.append(self._results.get_nowait())
        return batch

    async def _recording(self) -> None:
        while True:
            batch = self._drain(await self._results.get())
            await self._keep(batch)

    async def _keep(self, batch: list[Outcome]) -> None:
        if not batch:
            return
        try:
            async with self._pool.acquire() as conn:
                await repository.record(conn, batch)
        except Exception:
            # Their leases run out and the deliveries are tried again: at least once.
            log.exception("delivery_results_not_kept", deliveries=len(batch))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
