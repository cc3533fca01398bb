"""Compaction: fold the triggers' deltas into the hourly rollup, one instance at a time."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from postback.jobs import COMPACTION_LOCK, advisory_lock, autocommit_connection
from postback.rollups import repository
from postback.rollups.repository import Compacted

log = structlog.get_logger(__name__)


async def compact(engine: AsyncEngine, zone: str | None = None) -> Compacted | None:
    """One compaction round; None when another instance holds the lock. With `zone`, its day
    cells are built first if they are not yet."""
    async with autocommit_connection(engine) as conn, advisory_lock(conn, COMPACTION_LOCK) as got:
        if not got:
            return None
        if zone is not None and not await repository.has_zone(conn, zone):
            cells = await repository.build_zone(conn, zone)
            log.info("rollups_zone_built", zone=zone, cells=cells)
        done = await repository.compact(conn)
    if done.deltas:
        log.debug("rollups_compacted", deltas=done.deltas, cells=done.cells, emptied=done.emptied)
    return done
