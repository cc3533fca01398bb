"""Retention: remove conversions and rejections older than their partner's retention days.

A row goes when its `received_at` is strictly before `now - retention_days` of its tenant;
a row at the boundary or younger is never touched. Rejections without a tenant (refused
before a tenant was known) follow the default tenant's retention, or the usual 7 days when
there is no default tenant.

Duplicates: every row is judged by its own `received_at`, like any other row. A duplicate
is always received after its first row (it links to a first row that already exists), so
it goes in the same run as its first row or a later one, never before it. While it waits,
its `first_id` may name a row that is gone: `first_id` is a plain link, not a foreign key,
and readers must allow for that. A postback for the same `conversion_id` arriving after the
first row was deleted is stored as a new first row (see `ingest/repository.py`).

Transactions: each batch is one DELETE statement. On an autocommit connection (as
`lifecycle.jobs` gives) every batch commits on its own, so row locks stay few and short
and an interrupted run keeps what it already removed. This module never commits itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from postback.lifecycle import repository
from postback.lifecycle.schemas import UNOWNED, CleanupReport, TenantCleanup

log = structlog.get_logger(__name__)

BATCH_SIZE = 5_000
# The tenant table's default, for rejections with no tenant when no default tenant exists.
DEFAULT_RETENTION_DAYS = 7


async def cleanup(
    conn: AsyncConnection, *, now: datetime, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> CleanupReport:
    """Delete (or with `dry_run` only count) every tenant's rows older than its retention."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    retentions = await repository.list_retentions(conn)
    results: list[TenantCleanup] = []
    for tenant in retentions:
        cutoff = now - timedelta(days=tenant.retention_days)
        owners = [tenant.tenant_id, None] if tenant.is_default else [tenant.tenant_id]
        conversions = await _conversions(conn, tenant.tenant_id, cutoff, dry_run, batch_size)
        rejections = 0
        for owner in owners:
            rejections += await _rejections(conn, owner, cutoff, dry_run, batch_size)
        results.append(
            TenantCleanup(tenant.slug, tenant.retention_days, cutoff, conversions, rejections)
        )
    if not any(tenant.is_default for tenant in retentions):
        cutoff = now - timedelta(days=DEFAULT_RETENTION_DAYS)
        rejections = await _rejections(conn, None, cutoff, dry_run, batch_size)
        results.append(TenantCleanup(UNOWNED, DEFAULT_RETENTION_DAYS, cutoff, 0, rejections))
    report = CleanupReport(now=now, dry_run=dry_run, tenants=tuple(results))
    _log(report)
    return report


async def _conversions(
    conn: AsyncConnection, tenant_id: int, cutoff: datetime, dry_run: bool, batch_size: int
) -> int:
    if dry_run:
        return await repository.count_conversions(conn, tenant_id, cutoff)
    return await _in_batches(
        lambda limit: repository.delete_conversions(conn, tenant_id, cutoff, limit), batch_size
    )


async def _rejections(
    conn: AsyncConnection, tenant_id: int | None, cutoff: datetime, dry_run: bool, batch_size: int
) -> int:
    if dry_run:
        return await repository.count_rejections(conn, tenant_id, cutoff)
    return await _in_batches(
        lambda limit: repository.delete_rejections(conn, tenant_id, cutoff, limit), batch_size
    )


async def _in_batches(delete_batch: Callable[[int], Awaitable[int]], batch_size: int) -> int:
    """Run `delete_batch` until a batch comes back short; the total removed."""
    total = 0
    while True:
        deleted = await delete_batch(batch_size)
        total += deleted
        if deleted < batch_size:
            return total


def _log(report: CleanupReport) -> None:
    for tenant in report.tenants:
        log.info(
            "cleanup_tenant",
            tenant=tenant.slug,
            retention_days=tenant.retention_days,
            cutoff=tenant.cutoff.isoformat(),
            conversions=tenant.conversions,
            rejections=tenant.rejections,
            dry_run=report.dry_run,
        )
    log.info(
        "cleanup_done",
        tenants=len(report.tenants),
        conversions=report.conversions,
        rejections=report.rejections,
        dry_run=report.dry_run,
    )
