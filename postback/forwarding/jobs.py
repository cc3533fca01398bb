"""The delivery worker every instance runs: takes due deliveries and sends them.

It claims what is due (SKIP LOCKED, so instances never take the same attempt), sends up to
`concurrency` at once, and keeps each result. It looks again when a batch of postbacks was
just stored (`wake()`, called by the write path) and at least every `poll_interval` for
retries coming due and deliveries queued by other instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from postback import metrics
from postback.forwarding import repository, service
from postback.forwarding.macros import masked
from postback.forwarding.repository import Claimed
from postback.forwarding.sender import AttemptResult, Sender
from postback.forwarding.service import Policy
from postback.jobs import autocommit_connection

log = structlog.get_logger(__name__)


def lease_seconds(timeout: float) -> float:
    """How long a claimed delivery is held: twice the attempt's time limit and 5 s, time to
    send and keep the result. Only once it runs out may another instance try the delivery
    again (the instance that claimed it died mid-attempt)."""
    return 2 * timeout + 5


# The least time between two looks at an empty queue when the write path keeps waking it.
MIN_GAP = 0.05


class DeliveryWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        sender: Sender,
        policy: Policy,
        *,
        concurrency: int,
        poll_interval: float,
    ) -> None:
        self._engine = engine
        self._sender = sender
        self._policy = policy
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._sending: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.attempted = 0  # attempts this instance made since it started

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._concurrency > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="postback-deliveries")

    def wake(self, *_: object) -> None:
        """Look for due deliveries soon (a batch that may have queued some was stored)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming; attempts under way are cancelled and their leases run out, so
        another instance (or this one, restarted) tries them again."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sending in list(self._sending):
            sending.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)

    async def run_once(self) -> int:
        """Claim what is due and free slots allow, start sending it; how many were claimed."""
        free = self._concurrency - len(self._sending)
        if free <= 0:
            return 0
        async with autocommit_connection(self._engine) as conn:
            claimed = await repository.claim(
                conn, limit=free, lease=lease_seconds(self._sender.timeout)
            )
        for item in claimed:
            task = asyncio.create_task(self._deliver(item))
            self._sending.add(task)
            task.add_done_callback(self._done)
        return len(claimed)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._wake.set()  # a slot is free

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("deliveries_failed")
                claimed = 0
            if claimed and len(self._sending) < self._concurrency:
                continue  # more may be due
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()
            rest = MIN_GAP - (time.monotonic() - started)
            if rest > 0:
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
        try:
            async with autocommit_connection(self._engine) as conn:
                await repository.record(conn, claimed, result, delay)
        except Exception:
            # The lease runs out and the delivery is tried again: at least once.
            log.exception("delivery_result_not_kept", delivery_id=claimed.delivery_id)
