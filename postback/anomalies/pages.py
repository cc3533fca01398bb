"""The admin's alert pages: `/admin/alerts` (what the scans found, with filters, acknowledge
and resolve) and `/admin/alert-channels` (where alerts are sent, with a test per channel).

Thin like every admin page: the admin's session and CSRF check (admin/routes.py), a call of
the repository or the channel service, a page rendered in the request's language. Forms
answer with a redirect; what the redirect shows (a notice, a test's result) is kept for the
next view of the page only (`keep_once`). Times are shown in each partner's reporting
timezone (the service's for a channel of every partner).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from pydantic import ValidationError
from sqlalchemy import text
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from postback.admin.pages import AdminRoute
from postback.admin.routes import CheckedForm, SignedIn
from postback.alerting import service as channels
from postback.alerting.channels import KINDS
from postback.alerting.schemas import ChannelIn, ChannelTested, ChannelUpdate
from postback.alerting.service import ChannelFieldMissing, ChannelTargetRefused
from postback.anomalies import repository
from postback.anomalies.labels import KIND_LABELS, LABELS
from postback.audit import service as audit
from postback.audit.routes import Audited
from postback.audit.schemas import Target
from postback.dashboard import repository as dashboard
from postback.deps import AppSettings, Session
from postback.errors import InvalidInput
from postback.web import render as web
from postback.web import session as cookie
from postback.web.session import BrowserSession

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=AdminRoute)

STATES = ("open", "acknowledged", "resolved")
ALERT_KINDS = tuple(key.removeprefix("kind.") for key in KIND_LABELS)
PAGE_SIZE = 200
EXCERPT_SHOWN = 300
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
ChannelId = Annotated[int, Path(ge=1, le=2**63 - 1)]
NEW_CHANNEL: dict[str, Any] = {
    "name": "",
    "kind": "slack",
    "url": "",
    "secret": "",
    "recipients": "",
    "tenant_id": "",
    "min_severity": "warning",
    "language": "en",
    "enabled": True,
}


def local(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _page(
    request: Request,
    template: str,
    current: BrowserSession,
    *,
    once: dict[str, Any] | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    response = web.render(
        request,
        "anomalies/" + template,
        LABELS,
        status_code=status_code,
        session=current,
        once=once or {},
        **context,
    )
    if once is not None:
        cookie.forget_once(request, response)
    return response


def _done(
    request: Request, current: BrowserSession, path: str, query: str = "", **shown: Any
) -> RedirectResponse:
    response = RedirectResponse(path + (f"?{query}" if query else ""), status_code=303)
    cookie.keep_once(request, response, current, path, shown)
    return response


# --- Alerts -------------------------------------------------------------------------------


def _filters(query: Mapping[str, str]) -> dict[str, str]:
    found = {}
    if query.get("state") in STATES:
        found["state"] = query["state"]
    if query.get("kind") in ALERT_KINDS:
        found["kind"] = query["kind"]
    slug = (query.get("tenant") or "").strip()
    if slug and len(slug) <= 100 and "\x00" not in slug:
        found["tenant"] = slug
    return found


@router.get("/alerts")
async def alerts_page(
    request: Request, current: SignedIn, session: Session, settings: AppSettings
) -> Response:
    filters = _filters(request.query_params)
    rows = await repository.list_alerts(
        session,
        tenant_id=None,
        slug=filters.get("tenant"),
        state=filters.get("state"),
        kind=filters.get("kind"),
        limit=PAGE_SIZE,
    )
    zone = settings.timezone
    alerts = [
        {
            "row": row,
            "zone": row.timezone or zone,
            "started": local(row.started_at, row.timezone or zone),
            "last_seen": local(row.last_seen_at, row.timezone or zone),
            "ended": local(row.ended_at, row.timezone or zone),
        }
        for row in rows
    ]
    return _page(
        request,
        "alerts.html",
        current,
        once=cookie.read_once(request, current),
        alerts=alerts,
        filters=filters,
        query=urlencode(filters),
        states=STATES,
        kinds=ALERT_KINDS,
        partners=await dashboard.partner_choices(session),
        page_size=PAGE_SIZE,
    )


async def _move(
    request: Request,
    current: BrowserSession,
    session: Audited,
    form: FormData,
    alert_id: int,
    to: str,
) -> Response:
    who = audit.actor_of(session).label
    row = await repository.change_state(session, alert_id, to, datetime.now(UTC), who)
    back = form.get("back")
    query = back if isinstance(back, str) and re.fullmatch(r"[\w=&%.+-]*", back) else ""
    if row is None:
        return _done(request, current, "/admin/alerts", query, error={"key": "not_found"})
    if row.state != to:
        notice = {"key": "notice_already", "values": {"id": alert_id, "state": row.state}}
        return _done(request, current, "/admin/alerts", query, error=notice)
    verb = "acknowledge" if to == "acknowledged" else "resolve"
    target = Target("alert", row.id, f"{row.tenant_name}: {row.kind}")
    await audit.record(session, f"alert.{verb}", target, after={"state": to})
    key = "notice_acknowledged" if to == "acknowledged" else "notice_resolved"
    return _done(
        request, current, "/admin/alerts", query, notice={"key": key, "values": {"id": alert_id}}
    )


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(
    alert_id: AlertId, request: Request, current: SignedIn, session: Audited, form: CheckedForm
) -> Response:
    return await _move(request, current, session, form, alert_id, "acknowledged")


@router.post("/alerts/{alert_id}/resolve")
async def resolve(
    alert_id: AlertId, request: Request, current: SignedIn, session: Audited, form: CheckedForm
) -> Response:
    return await _move(request, current, session, form, alert_id, "resolved")


# --- Channels -----------------------------------------------------------------------------


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _form_values(form: FormData) -> dict[str, Any]:
    return {name: _text(form, name) for name in NEW_CHANNEL if name != "enabled"} | {
        "enabled": "enabled" in form
    }


def _channel_fields(values: dict[str, Any]) -> dict[str, Any]:
    recipients = [r.strip() for r in re.split(r"[,，;\s]+", values["recipients"]) if r.strip()]
    tenant = values["tenant_id"]
    return {
        "name": values["name"],
        "kind": values["kind"],
        "url": values["url"] or None,
        "secret": values["secret"] or None,
        "recipients": recipients or None,
        "tenant_id": int(tenant) if tenant.isdigit() else None,
        "min_severity": values["min_severity"] or "warning",
        "language": values["language"] or "en",
        "enabled": values["enabled"],
    }


def _problems(exc: ValidationError | InvalidInput) -> dict[str, list[dict[str, Any]]]:
    if isinstance(exc, ChannelFieldMissing):
        return {exc.field: [{"key": "error_" + exc.reason, "values": {}, "text": exc.message}]}
    if isinstance(exc, ChannelTargetRefused) and exc.refused.reason == "private":
        values = dict(exc.refused.details)
        return {exc.field: [{"key": "error_target_private", "values": values, "text": ""}]}
    if isinstance(exc, InvalidInput):
        return {exc.field: [{"key": None, "values": {}, "text": exc.message}]}
    found: dict[str, list[dict[str, Any]]] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "name"
        found.setdefault(field, []).append({"key": None, "values": {}, "text": error["msg"]})
    return found


async def _channels_page(
    request: Request,
    current: BrowserSession,
    session: Session,
    zone: str,
    *,
    once: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[dict[str, Any]]] | None = None,
    status_code: int = 200,
) -> Response:
    return _page(
        request,
        "channels.html",
        current,
        once=once,
        status_code=status_code,
        channels=await channels.list_channels(session),
        partners=await _partner_ids(session),
        values=values or NEW_CHANNEL,
        errors=errors or {},
        kinds=KINDS,
        zone=zone,
    )


async def _partner_ids(session: Session) -> list[tuple[int, str]]:
    rows = await session.execute(text("SELECT id, slug FROM tenant ORDER BY is_default DESC, slug"))
    return [(r.id, r.slug) for r in rows]


@router.get("/alert-channels")
async def channels_page(
    request: Request, current: SignedIn, session: Session, settings: AppSettings
) -> Response:
    once = cookie.read_once(request, current)
    return await _channels_page(request, current, session, settings.timezone, once=once)


@router.post("/alert-channels")
async def add_channel(
    request: Request,
    current: SignedIn,
    session: Audited,
    settings: AppSettings,
    form: CheckedForm,
) -> Response:
    values = _form_values(form)
    try:
        data = ChannelIn.model_validate(_channel_fields(values))
        made = await channels.create_channel(
            session, data, allow_private=settings.forward_allow_private
        )
    except (ValidationError, InvalidInput) as exc:
        await session.rollback()
        return await _channels_page(
            request,
            current,
            session,
            settings.timezone,
            values=values,
            errors=_problems(exc),
            status_code=422,
        )
    return _done(
        request,
        current,
        "/admin/alert-channels",
        notice={"key": "notice_channel_added", "values": {}},
        channel_id=made.id,
    )


async def _set_enabled(
    request: Request,
    current: BrowserSession,
    session: Audited,
    settings: AppSettings,
    channel_id: int,
    enabled: bool,
) -> Response:
    await channels.update_channel(
        session,
        channel_id,
        ChannelUpdate(enabled=enabled),
        allow_private=settings.forward_allow_private,
    )
    key = "notice_channel_resumed" if enabled else "notice_channel_paused"
    return _done(
        request,
        current,
        "/admin/alert-channels",
        notice={"key": key, "values": {}},
        channel_id=channel_id,
    )


@router.post("/alert-channels/{channel_id}/pause")
async def pause_channel(
    channel_id: ChannelId,
    request: Request,
    current: SignedIn,
    session: Audited,
    settings: AppSettings,
    _: CheckedForm,
) -> Response:
    return await _set_enabled(request, current, session, settings, channel_id, False)


@router.post("/alert-channels/{channel_id}/resume")
async def resume_channel(
    channel_id: ChannelId,
    request: Request,
    current: SignedIn,
    session: Audited,
    settings: AppSettings,
    _: CheckedForm,
) -> Response:
    return await _set_enabled(request, current, session, settings, channel_id, True)


@router.post("/alert-channels/{channel_id}/delete")
async def delete_channel(
    channel_id: ChannelId, request: Request, current: SignedIn, session: Audited, _: CheckedForm
) -> Response:
    await channels.delete_channel(session, channel_id)
    return _done(
        request,
        current,
        "/admin/alert-channels",
        notice={"key": "notice_channel_deleted", "values": {}},
    )


def _tested(result: ChannelTested) -> dict[str, Any]:
    excerpt = result.response_excerpt
    return {
        "ok": result.ok,
        "target": result.target,
        "status_code": result.status_code,
        "latency_ms": round(result.latency_ms, 1),
        "error": result.error,
        "excerpt": excerpt[:EXCERPT_SHOWN] if excerpt else None,
    }


@router.post("/alert-channels/{channel_id}/test")
async def send_channel_test(
    channel_id: ChannelId,
    request: Request,
    current: SignedIn,
    session: Session,
    settings: AppSettings,
    _: CheckedForm,
) -> Response:
    sender = request.app.state.channel_sender
    result = await channels.send_test(session, channel_id, sender, settings.timezone)
    return _done(
        request, current, "/admin/alert-channels", channel_id=channel_id, test=_tested(result)
    )
