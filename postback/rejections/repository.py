"""All SQL of the rejections domain: the work queue's reads, locks and the replay mark."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postback.conversions.models import Rejection
from postback.tenants.models import Tenant

RejectionRow = Row[Rejection, str | None]


@dataclass(frozen=True, slots=True)
class RejectionFilter:
    """`tenant_id` None: every partner's rejections and those of no partner."""

    tenant_id: int | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    replayed: bool | None = None


def _conditions(where: RejectionFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.tenant_id is not None:
        conditions.append(Rejection.tenant_id == where.tenant_id)
    if where.reason is not None:
        conditions.append(Rejection.reason == where.reason)
    if where.since is not None:
        conditions.append(Rejection.received_at >= where.since)
    if where.until is not None:
        conditions.append(Rejection.received_at < where.until)
    if where.replayed is not None:
        replayed = Rejection.replayed_at.is_not(None)
        conditions.append(replayed if where.replayed else Rejection.replayed_at.is_(None))
    return conditions


def _with_slug() -> Any:
    return select(Rejection, Tenant.slug).outerjoin(Tenant, Tenant.id == Rejection.tenant_id)


async def list_rejections(
    session: AsyncSession, where: RejectionFilter, *, offset: int, limit: int
) -> Sequence[RejectionRow]:
    """Newest first."""
    query = (
        _with_slug()
        .where(*_conditions(where))
        .order_by(Rejection.received_at.desc(), Rejection.id.desc())
        .offset(offset)
        .limit(limit)
    )
    rows: Sequence[RejectionRow] = (await session.execute(query)).all()
    return rows


async def count_rejections(session: AsyncSession, where: RejectionFilter) -> int:
    query = select(func.count()).select_from(Rejection).where(*_conditions(where))
    return int(await session.scalar(query) or 0)


async def get_rejection(
    session: AsyncSession, rejection_id: int, tenant_id: int | None
) -> RejectionRow | None:
    """One rejection; with `tenant_id`, only if it is that partner's."""
    query = _with_slug().where(Rejection.id == rejection_id)
    if tenant_id is not None:
        query = query.where(Rejection.tenant_id == tenant_id)
    row: RejectionRow | None = (await session.execute(query)).first()
    return row


async def lock_rejections(
    session: AsyncSession, where: RejectionFilter, *, ids: Sequence[int] | None, limit: int
) -> Sequence[RejectionRow]:
    """The matching rejections, locked until the transaction ends so one replay at a time
    handles each; taken in id order, so two replays of overlapping sets never deadlock."""
    query = _with_slug().where(*_conditions(where))
    if ids is not None:
        query = query.where(Rejection.id.in_(ids))
    query = (
        query.order_by(Rejection.id)
        .limit(limit)
        .with_for_update(of=Rejection)
        .execution_options(populate_existing=True)
    )
    rows: Sequence[RejectionRow] = (await session.execute(query)).all()
    return rows


async def mark_replayed(
    session: AsyncSession,
    rejection: Rejection,
    *,
    by: str,
    receipt_id: uuid.UUID,
    conversion_pk: int | None,
) -> None:
    rejection.replayed_at = await session.scalar(select(func.now()))
    rejection.replayed_by = by
    rejection.replay_receipt_id = receipt_id
    rejection.replayed_conversion_pk = conversion_pk
    await session.flush()


async def tenant_id_by_slug(session: AsyncSession, slug: str) -> int | None:
    return (await session.execute(select(Tenant.id).where(Tenant.slug == slug))).scalar()


async def tenant_slugs(session: AsyncSession) -> Sequence[str]:
    """Every partner's slug, for the page's filter."""
    return (await session.scalars(select(Tenant.slug).order_by(Tenant.slug))).all()
