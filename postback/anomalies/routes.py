"""`/api/alerts`: what the anomaly scans found. Reading: the admin token or a partner's API
key (its own alerts only); acknowledging and resolving: the admin token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from postback.anomalies import repository
from postback.anomalies.repository import AlertRow
from postback.anomalies.schemas import AlertOut, AlertPage, AlertState, Language
from postback.audit import service as audit
from postback.audit.routes import Audited
from postback.audit.schemas import Target
from postback.auth import AdminAuth, Auth
from postback.conversions.routes import PartnerSlug
from postback.deps import Session, SingleValues, StrictQuery
from postback.errors import Conflict, NotFound

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# Who a change through the API is recorded as (personal accounts will name the person).
API_ACTOR = "admin token"


def _out(row: AlertRow, lang: Language) -> AlertOut:
    return AlertOut(
        id=row.id,
        tenant=row.tenant,
        offer_id=row.offer_id,
        kind=row.kind,
        severity=row.severity,
        state=row.state,
        started_at=row.started_at,
        last_seen_at=row.last_seen_at,
        ended_at=row.ended_at,
        observed=row.observed,
        expected=row.expected,
        message=row.message_zh if lang == "zh" else row.message_en,
        message_en=row.message_en,
        message_zh=row.message_zh,
        acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at,
    )


@router.get("", response_model=AlertPage, dependencies=[SingleValues, StrictQuery])
async def list_alerts(
    session: Session,
    principal: Auth,
    state: Annotated[AlertState | None, Query(description="Only alerts in this state")] = None,
    tenant: PartnerSlug = None,
    lang: Annotated[Language, Query(description="The language of `message`")] = "en",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AlertPage:
    """Alerts, unresolved first, newest first; a partner's key sees its own only."""
    rows = await repository.list_alerts(
        session, tenant_id=principal.tenant_id, slug=tenant, state=state, limit=limit
    )
    return AlertPage(items=[_out(row, lang) for row in rows])


async def _move(session: AsyncSession, alert_id: int, to: str, lang: Language) -> AlertOut:
    who = audit.actor_of(session).label if audit.has_actor(session) else API_ACTOR
    row = await repository.change_state(session, alert_id, to, datetime.now(UTC), who)
    if row is None:
        raise NotFound(f"no alert with id {alert_id}", "alert_id")
    if row.state != to:
        raise Conflict(f"the alert is {row.state} already", "state")
    verb = "acknowledge" if to == "acknowledged" else "resolve"
    target = Target("alert", row.id, f"{row.tenant_name}: {row.kind}")
    await audit.record(session, f"alert.{verb}", target, after={"state": to})
    return _out(row, lang)


@router.post("/{alert_id}/acknowledge", response_model=AlertOut)
async def acknowledge_alert(
    alert_id: AlertId, session: Audited, _: AdminAuth, lang: Language = "en"
) -> AlertOut:
    """Someone is looking at it: open → acknowledged."""
    return await _move(session, alert_id, "acknowledged", lang)


@router.post("/{alert_id}/resolve", response_model=AlertOut)
async def resolve_alert(
    alert_id: AlertId, session: Audited, _: AdminAuth, lang: Language = "en"
) -> AlertOut:
    """It is over: open or acknowledged → resolved."""
    return await _move(session, alert_id, "resolved", lang)
