"""The notification worker every instance runs: sends the queued alert notifications.

It is the forwarding domain's `QueueWorker` (claims with SKIP LOCKED and a lease, sends a
bounded number at once, keeps results in batches, gives back what it had not sent when it
stops) over the `alert_notification` table; a failed attempt is retried after the forwarding
schedule's delay (`forwarding.service.next_delay`, POSTBACK_FORWARD_RETRY_SECONDS), and a
notification with no retry left is `dead`. The anomaly job wakes it after a scan that
queued something; otherwise it looks every `poll_interval` seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import structlog

from postback.alerting import repository
from postback.alerting.channels import ChannelSender, Notice
from postback.alerting.repository import Claimed, Outcome
from postback.alerting.service import channel_of
from postback.forwarding.jobs import QueueWorker
from postback.forwarding.service import Policy, next_delay

log = structlog.get_logger(__name__)


class NotificationWorker(QueueWorker[Claimed, Outcome]):
    task_name = "postback-alert-notifications"

    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: ChannelSender,
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
        return await repository.claim(conn, limit=limit, lease=lease, zone=self._policy.zone)

    async def _attempt(self, claimed: Claimed) -> Outcome:
        notice = Notice(claimed.alert, claimed.event, claimed.tenant_name, claimed.timezone)
        result = await self._sender.send(
            channel_of(claimed.channel), notice, f"alert-{claimed.notification_id}"
        )
        delay = None if result.ok else next_delay(self._policy, claimed.attempt)
        if not result.ok:
            log.warning(
                "alert_notification_failed",
                notification=claimed.notification_id,
                channel=claimed.channel["channel_id"],
                attempt=claimed.attempt,
                error=result.error,
                status=result.status_code,
                retry_in=delay,
            )
        return Outcome(claimed, result.ok, result.status_code, result.error, result.excerpt, delay)

    async def _record(self, conn: asyncpg.Connection, batch: Sequence[Outcome]) -> None:
        await repository.record(conn, batch)

    async def _release(self, conn: asyncpg.Connection, items: Sequence[Claimed]) -> None:
        await repository.release(conn, items)
