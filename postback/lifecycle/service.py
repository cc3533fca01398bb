"""Retention that keeps history.

Detail follows the partner's retention days, judged on each row's receipt time: a row goes
when its `received_at` is strictly before `now - retention_days` (a row at the boundary or
younger is never touched). Detail is
- duplicate rows (deleted),
- the raw payload of first rows (cleared to NULL: the row stays),
- rejections (those without a tenant follow the default tenant, or 7 days without one),
- finished forward deliveries (delivered or dead, by the time they were made) and their
  attempts.

History follows POSTBACK_HISTORY_DAYS (never shorter than the partner's retention), judged on
the conversion's own time (`occurred_at`, the time the reports use): a conversion that
occurred strictly before `now - history_days` is deleted, every row of it, and so are the
partner's rollup cells whose whole hour (or local day) ended by then. Until that horizon a
first row keeps the business fact and its current status, so a status update that arrives
weeks later still finds it and moves it (ingest/repository.py).

Rollups: nothing the retention deletes or clears changes a rollup count. Its connection turns
the rollup triggers off for itself (`repository.keeping_rollups`), so "last 30 days" still
counts the duplicates whose rows are gone; rollup cells go only by their own age, under the
compaction's lock.

Sync: nothing received at or after `sync_cutoff()` is deleted or cleared — the moment up to
which the configured sync has copied (postback/sync registers it with `use_sync_cutoff`);
without a sync, the retention alone decides.

Transactions: each batch is one statement. On an autocommit connection (as `lifecycle.jobs`
gives) every batch commits on its own, so row locks stay few and short and an interrupted run
keeps what it already did. This module never commits itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from postback.jobs import COMPACTION_LOCK, advisory_lock
from postback.lifecycle import repository
from postback.lifecycle.repository import Conversions, Retention
from postback.lifecycle.schemas import UNOWNED, CleanupReport, Removed, TenantCleanup

log = structlog.get_logger(__name__)

BATCH_SIZE = 5_000
# The tenant table's default, for rejections with no tenant when no default tenant exists.
DEFAULT_RETENTION_DAYS = 7
DEFAULT_HISTORY_DAYS = 400
# How long a round waits for the compaction's lock (held for a fold, a fraction of a second).
COMPACTION_LOCK_TRIES = 40
COMPACTION_LOCK_PAUSE = 0.25

# Asked once per round: everything received before the moment it returns has been copied by
# the sync (None: no sync configured, or nothing to hold back).
SyncCutoff = Callable[[AsyncConnection], Awaitable[datetime | None]]
_sync_cutoff: SyncCutoff | None = None


def use_sync_cutoff(provider: SyncCutoff | None) -> None:
    """Register the sync's cutoff provider (None removes it). The retention then never deletes
    or clears a conversion, rejection or delivery received at or after what it returns."""
    global _sync_cutoff
    _sync_cutoff = provider


async def sync_cutoff(conn: AsyncConnection) -> datetime | None:
    """What the configured sync has copied up to; None when no sync is configured."""
    if _sync_cutoff is None:
        return None
    moment = await _sync_cutoff(conn)
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the sync cutoff must be timezone-aware")
    return moment


async def cleanup(
    conn: AsyncConnection,
    *,
    now: datetime,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    history_days: int = DEFAULT_HISTORY_DAYS,
) -> CleanupReport:
    """Remove (or with `dry_run` only count) every tenant's rows past its retention and the
    history horizon."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    synced = await sync_cutoff(conn)
    retentions = await repository.list_retentions(conn)
    round_ = _Round(conn, now, dry_run, batch_size, history_days, synced)
    results = [await round_.tenant(tenant) for tenant in retentions]
    if not any(tenant.is_default for tenant in retentions):
        cutoff = now - timedelta(days=DEFAULT_RETENTION_DAYS)
        rejections = await round_.rejections(None, cutoff)
        results.append(
            TenantCleanup(
                UNOWNED,
                DEFAULT_RETENTION_DAYS,
                history_days,
                cutoff,
                now - timedelta(days=history_days),
                Removed(rejections=rejections),
            )
        )
    report = CleanupReport(now=now, dry_run=dry_run, tenants=tuple(results), synced_until=synced)
    _log(report)
    return report


class _Round:
    """One cleanup round's settings, and each kind's count (dry run) or change."""

    def __init__(
        self,
        conn: AsyncConnection,
        now: datetime,
        dry_run: bool,
        batch_size: int,
        history_days: int,
        synced: datetime | None,
    ) -> None:
        self.conn = conn
        self.now = now
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.history_days = history_days
        self.synced = synced

    async def tenant(self, tenant: Retention) -> TenantCleanup:
        history_days = max(self.history_days, tenant.retention_days)
        cutoff = self.now - timedelta(days=tenant.retention_days)
        horizon = self.now - timedelta(days=history_days)
        id_ = tenant.tenant_id
        cutoffs = repository.Cutoffs(id_, cutoff, horizon, self.synced)
        owners = [id_, None] if tenant.is_default else [id_]
        rejections = 0
        for owner in owners:
            rejections += await self.rejections(owner, cutoff)
        removed = Removed(
            conversions=await self.delete(repository.history(cutoffs)),
            duplicates=await self.delete(repository.duplicates(cutoffs)),
            payloads=await self.clear(repository.payloads(cutoffs)),
            rejections=rejections,
            deliveries=await self.deliveries(id_, cutoff),
            rollups=await self.rollups(id_, horizon),
        )
        return TenantCleanup(
            tenant.slug, tenant.retention_days, history_days, cutoff, horizon, removed
        )

    async def delete(self, rows: Conversions) -> int:
        if self.dry_run:
            return await rows.count(self.conn)
        async with repository.keeping_rollups(self.conn):
            return await _in_batches(lambda limit: rows.delete(self.conn, limit), self.batch_size)

    async def clear(self, rows: Conversions) -> int:
        if self.dry_run:
            return await rows.count(self.conn)
        async with repository.keeping_rollups(self.conn):
            return await _in_batches(
                lambda limit: rows.clear_payloads(self.conn, limit), self.batch_size
            )

    async def rejections(self, tenant_id: int | None, cutoff: datetime) -> int:
        if self.dry_run:
            return await repository.count_rejections(self.conn, tenant_id, cutoff, self.synced)
        return await _in_batches(
            lambda limit: repository.delete_rejections(
                self.conn, tenant_id, cutoff, self.synced, limit
            ),
            self.batch_size,
        )

    async def deliveries(self, tenant_id: int, cutoff: datetime) -> int:
        if self.dry_run:
            return await repository.count_deliveries(self.conn, tenant_id, cutoff, self.synced)
        return await _in_batches(
            lambda limit: repository.delete_deliveries(
                self.conn, tenant_id, cutoff, self.synced, limit
            ),
            self.batch_size,
        )

    async def rollups(self, tenant_id: int, horizon: datetime) -> int:
        if self.dry_run:
            return await repository.count_rollups(self.conn, tenant_id, horizon)
        for _ in range(COMPACTION_LOCK_TRIES):
            async with advisory_lock(self.conn, COMPACTION_LOCK) as locked:
                if locked:
                    return await repository.delete_rollups(self.conn, tenant_id, horizon)
            await asyncio.sleep(COMPACTION_LOCK_PAUSE)
        log.warning("cleanup_rollups_skipped", reason="the compaction kept its lock")
        return 0


async def _in_batches(change_batch: Callable[[int], Awaitable[int]], batch_size: int) -> int:
    """Run `change_batch` until a batch comes back short; the total changed."""
    total = 0
    while True:
        changed = await change_batch(batch_size)
        total += changed
        if changed < batch_size:
            return total


def _log(report: CleanupReport) -> None:
    for tenant in report.tenants:
        log.info(
            "cleanup_tenant",
            tenant=tenant.slug,
            retention_days=tenant.retention_days,
            history_days=tenant.history_days,
            cutoff=tenant.cutoff.isoformat(),
            history_cutoff=tenant.history_cutoff.isoformat(),
            dry_run=report.dry_run,
            **_counts(tenant.removed),
        )
    log.info(
        "cleanup_done",
        tenants=len(report.tenants),
        dry_run=report.dry_run,
        synced_until=report.synced_until.isoformat() if report.synced_until else None,
        **_counts(report.removed),
    )


def _counts(removed: Removed) -> dict[str, int]:
    return {
        "duplicates": removed.duplicates,
        "payloads": removed.payloads,
        "rejections": removed.rejections,
        "deliveries": removed.deliveries,
        "conversions": removed.conversions,
        "rollups": removed.rollups,
    }
