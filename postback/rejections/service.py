"""Rejections as a work queue: listed within what the caller may see, and replayed through
the ingest service (the same typing and write statement as a live postback).

Each replay is stored under a receipt id derived from its rejection
(`ingest.service.replay_receipt_id`), so the receipt's unique key stores it once however
often, or however concurrently, it is replayed; the rejection is locked while it is handled
and marked replayed in the request's transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from postback.audit import service as audit
from postback.audit.schemas import Target
from postback.auth import Principal
from postback.conversions.models import Rejection
from postback.conversions.service import parse_moment, scope_tenant
from postback.errors import NotFound
from postback.ingest.fields import TOKEN_FIELDS
from postback.ingest.service import (
    Accepted,
    IngestService,
    Invalid,
    Received,
    Unavailable,
    replay_receipt_id,
)
from postback.rejections import repository
from postback.rejections.repository import RejectionFilter, RejectionRow
from postback.rejections.schemas import (
    BulkReplayOut,
    RejectionOut,
    RejectionPage,
    ReplayIn,
)
from postback.tenants.directory import NoDefaultTenant, TenantInfo

# One bulk call replays at most this many; `more` in its answer says to call again.
BULK_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Filters:
    """The filters as sent: a partner's slug, times as text (read in the reporting zone)."""

    tenant: str | None = None
    reason: str | None = None
    since: str | None = None
    until: str | None = None
    replayed: bool | None = None


@dataclass(frozen=True, slots=True)
class Replayed:
    """Stored as a conversion (now or by an earlier replay: `already`)."""

    rejection: RejectionOut
    conversion_pk: int | None
    duplicate: bool | None
    spooled: bool
    already: bool


@dataclass(frozen=True, slots=True)
class StillInvalid:
    """Not stored: each field still refused; the rejection stays in the queue."""

    errors: list[dict[str, str]]


ReplayOutcome = Replayed | StillInvalid | Unavailable


def rejection_out(row: RejectionRow) -> RejectionOut:
    rejection, slug = row
    return RejectionOut(
        id=rejection.id,
        received_at=rejection.received_at,
        tenant=slug,
        reason=rejection.reason,
        errors=rejection.errors if isinstance(rejection.errors, list) else [],
        conversion_id=rejection.conversion_id,
        method=rejection.method,
        source_ip=str(rejection.source_ip) if rejection.source_ip is not None else None,
        payload=rejection.payload,
        raw_text=rejection.raw_text,
        raw_truncated=rejection.raw_truncated,
        replayed=rejection.replayed_at is not None,
        replayed_at=rejection.replayed_at,
        replayed_by=rejection.replayed_by,
        replayed_conversion_pk=rejection.replayed_conversion_pk,
    )


async def _where(
    session: AsyncSession, principal: Principal, filters: Filters, zone: ZoneInfo
) -> RejectionFilter:
    return RejectionFilter(
        tenant_id=await scope_tenant(session, principal, filters.tenant),
        reason=filters.reason,
        since=parse_moment(filters.since, "since", zone),
        until=parse_moment(filters.until, "until", zone),
        replayed=filters.replayed,
    )


async def list_rejections(
    session: AsyncSession,
    principal: Principal,
    filters: Filters,
    *,
    page: int,
    page_size: int,
    zone: ZoneInfo,
) -> RejectionPage:
    """Newest first; a partner's key sees only its own."""
    where = await _where(session, principal, filters, zone)
    rows = await repository.list_rejections(
        session, where, offset=(page - 1) * page_size, limit=page_size
    )
    total = await repository.count_rejections(session, where)
    return RejectionPage(
        items=[rejection_out(r) for r in rows], total=total, page=page, page_size=page_size
    )


async def get_rejection(
    session: AsyncSession, principal: Principal, rejection_id: int
) -> RejectionOut:
    row = await repository.get_rejection(session, rejection_id, principal.tenant_id)
    if row is None:
        raise NotFound(f"no rejection with id {rejection_id}", "id")
    return rejection_out(row)


# --- Replay -----------------------------------------------------------------------------


async def replay(
    session: AsyncSession,
    ingest: IngestService,
    rejection_id: int,
    fix: ReplayIn | None,
    *,
    by: str,
) -> ReplayOutcome:
    """Store one rejection as a conversion (with `fix` applied) and mark it replayed."""
    rows = await repository.lock_rejections(session, RejectionFilter(), ids=[rejection_id], limit=1)
    if not rows:
        raise NotFound(f"no rejection with id {rejection_id}", "id")
    outcome = await _replay_locked(session, ingest, rows[0], fix, by)
    if isinstance(outcome, Replayed) and not outcome.already:
        rejection = rows[0][0]
        after: dict[str, Any] = {"conversion_pk": outcome.conversion_pk}
        if fix is not None:
            after |= {"corrected": dict(fix.fields), "tenant": fix.tenant}
        # The partner it was stored under: the correction's, else the rejection's (`_partner`).
        tenant_id = rejection.tenant_id
        if fix is not None and fix.tenant is not None:
            tenant_id = await repository.tenant_id_by_slug(session, fix.tenant)
        target = Target("rejection", rejection.id, rejection.reason, tenant_id)
        await audit.record(
            session, "rejection.replay", target, before={"replayed": False}, after=after
        )
    return outcome


async def replay_matching(
    session: AsyncSession,
    ingest: IngestService,
    principal: Principal,
    filters: Filters,
    *,
    zone: ZoneInfo,
    by: str,
) -> BulkReplayOut:
    """Replay every rejection the filters match (at most BULK_LIMIT a call), as they are."""
    where = await _where(session, principal, filters, zone)
    rows = await repository.lock_rejections(session, where, ids=None, limit=BULK_LIMIT + 1)
    counts = {"replayed": 0, "still_invalid": 0, "already_replayed": 0, "unavailable": 0}
    replayed: list[int] = []
    for row in rows[:BULK_LIMIT]:
        match await _replay_locked(session, ingest, row, None, by):
            case Replayed(already=True):
                counts["already_replayed"] += 1
            case Replayed():
                counts["replayed"] += 1
                replayed.append(row[0].id)
            case StillInvalid():
                counts["still_invalid"] += 1
            case Unavailable():
                counts["unavailable"] += 1
    result = BulkReplayOut(**counts, more=len(rows) > BULK_LIMIT)
    if replayed:
        asked = {name: value for name, value in asdict(filters).items() if value is not None}
        target = Target("rejection", None, "filters", where.tenant_id)
        after = {"filters": asked, **result.model_dump(), "rejection_ids": replayed}
        await audit.record(session, "rejection.replay_bulk", target, after=after)
    return result


async def _replay_locked(
    session: AsyncSession,
    ingest: IngestService,
    row: RejectionRow,
    fix: ReplayIn | None,
    by: str,
) -> ReplayOutcome:
    """The one place a rejection is replayed and marked (single and bulk replays alike):
    the audit entry of a replay belongs here, next to `mark_replayed`."""
    rejection = row[0]
    if rejection.replayed_at is not None:
        return Replayed(
            rejection_out(row),
            rejection.replayed_conversion_pk,
            duplicate=None,
            spooled=False,
            already=True,
        )
    prepared = await _prepared(session, ingest, rejection, fix)
    if isinstance(prepared, StillInvalid):
        return prepared
    received, tenant, raw = prepared
    receipt_id = replay_receipt_id(rejection.id, rejection.received_at)
    outcome = await ingest.replay(received, tenant, receipt_id, raw)
    match outcome:
        case Invalid(errors=errors):
            return StillInvalid(errors)
        case Unavailable():
            return outcome
        case Accepted(stored=stored):
            await repository.mark_replayed(
                session, rejection, by=by, receipt_id=receipt_id, conversion_pk=stored.id
            )
            return Replayed(
                rejection_out(row),
                stored.id,
                duplicate=None if stored.spooled else stored.duplicate,
                spooled=stored.spooled,
                already=False,
            )


async def _prepared(
    session: AsyncSession, ingest: IngestService, rejection: Rejection, fix: ReplayIn | None
) -> tuple[Received, TenantInfo, str] | StillInvalid:
    """The postback to store again: its kept parameters with the corrections applied, its
    partner, and the raw payload the conversion keeps (with what was corrected)."""
    payload: dict[str, Any] = dict(rejection.payload or {})
    corrections = dict(fix.fields) if fix else {}
    tokens = sorted(name for name in corrections if name in TOKEN_FIELDS)
    if tokens:
        message = "name the partner with `tenant`: its tokens are kept only as fingerprints"
        return StillInvalid([{"field": f"fields.{name}", "message": message} for name in tokens])
    if not payload and not corrections:
        message = "this rejection kept no parameters (its request could not be read): send them"
        return StillInvalid([{"field": "fields", "message": message}])
    for name, value in corrections.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    tenant = await _partner(session, ingest, rejection, fix)
    if isinstance(tenant, StillInvalid):
        return tenant
    # The tokens it sent are fingerprints now: the partner is known, they are not read again.
    params = {k: v for k, v in payload.items() if k not in TOKEN_FIELDS}
    raw = {**payload, "_replay": {"rejection_id": rejection.id, "corrected": sorted(corrections)}}
    source_ip = str(rejection.source_ip) if rejection.source_ip is not None else None
    received = Received(
        params, payload, rejection.method or "GET", source_ip, rejection.received_at
    )
    return received, tenant, orjson.dumps(raw).decode()


async def _partner(
    session: AsyncSession, ingest: IngestService, rejection: Rejection, fix: ReplayIn | None
) -> TenantInfo | StillInvalid:
    """The partner named by the correction, else the rejection's, else (no token was sent)
    the default partner, as for a live postback."""
    if fix is not None and fix.tenant is not None:
        tenant_id = await repository.tenant_id_by_slug(session, fix.tenant)
        if tenant_id is None:
            return StillInvalid([{"field": "tenant", "message": f"no partner {fix.tenant!r}"}])
    elif rejection.tenant_id is not None:
        tenant_id = rejection.tenant_id
    elif any(name in (rejection.payload or {}) for name in TOKEN_FIELDS):
        message = "its tokens matched no partner: name the partner with `tenant`"
        return StillInvalid([{"field": "tenant", "message": message}])
    else:
        try:
            return _enabled(await ingest.directory.resolve({}, strict=False))
        except NoDefaultTenant:
            return StillInvalid([{"field": "tenant", "message": "name the partner"}])
    info = await ingest.directory.find(tenant_id)
    if info is None:
        return StillInvalid([{"field": "tenant", "message": f"no partner with id {tenant_id}"}])
    return _enabled(info)


def _enabled(info: TenantInfo) -> TenantInfo | StillInvalid:
    if not info.enabled:
        message = f"partner {info.slug!r} is disabled: enable it first"
        return StillInvalid([{"field": "tenant", "message": message}])
    return info
