"""All SQL of the audit log: one insert, the filtered page newest first, and retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from postback.audit.models import AuditEntry
from postback.audit.schemas import Filters


async def insert(session: AsyncSession, values: dict[str, Any]) -> None:
    """One entry, through the request's (or command's) session: it commits with the change."""
    session.add(AuditEntry(**values))
    await session.flush()


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _conditions(where: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.tenant_id is not None:
        conditions.append(AuditEntry.tenant_id == where.tenant_id)
    if where.actor is not None:
        conditions.append(AuditEntry.actor_label == where.actor)
    if where.action is not None:
        conditions.append(AuditEntry.action.like(_like_prefix(where.action), escape="\\"))
    if where.target_kind is not None:
        conditions.append(AuditEntry.target_kind == where.target_kind)
    if where.target_id is not None:
        conditions.append(AuditEntry.target_id == where.target_id)
    if where.since is not None:
        conditions.append(AuditEntry.created_at >= where.since)
    if where.until is not None:
        conditions.append(AuditEntry.created_at < where.until)
    if where.before_id is not None:
        conditions.append(AuditEntry.id < where.before_id)
    return conditions


async def entries(session: AsyncSession, where: Filters, limit: int) -> Sequence[AuditEntry]:
    """Up to `limit` entries matching, newest (highest id) first."""
    query = select(AuditEntry).where(*_conditions(where)).order_by(AuditEntry.id.desc())
    return (await session.scalars(query.limit(limit))).all()


async def delete_older(conn: AsyncConnection, cutoff: datetime, limit: int) -> int:
    """At most `limit` entries created before `cutoff`, oldest first; how many went."""
    batch = (
        select(AuditEntry.id)
        .where(AuditEntry.created_at < cutoff)
        .order_by(AuditEntry.created_at)
        .limit(limit)
    )
    result = await conn.execute(delete(AuditEntry).where(AuditEntry.id.in_(batch)))
    return result.rowcount
