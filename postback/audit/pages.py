"""`/admin/audit`: the audit log in the browser (signed-in admin), with the API's filters and
each entry's fields before and after."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from postback.admin.pages import AdminRoute
from postback.admin.routes import SignedIn
from postback.admin.service import Problem
from postback.audit import service
from postback.audit.labels import ACTION_LABELS, FIELD_LABELS
from postback.audit.labels import LABELS as AUDIT_LABELS
from postback.audit.routes import filters
from postback.deps import AppSettings, Session
from postback.errors import PostbackError
from postback.rejections import repository as rejections
from postback.web import render as web
from postback.web.render import environment

router = APIRouter(prefix="/admin/audit", include_in_schema=False, route_class=AdminRoute)
PAGE_SIZE = 50
FILTERS = ("tenant", "actor", "action", "target", "since", "until")
ACTIONS = sorted(key.removeprefix("action.") for key in ACTION_LABELS)


def _value_text(value: Any) -> str:
    """A before or after value as text: lists comma-separated, objects as JSON."""
    if isinstance(value, list):
        return ", ".join(_value_text(item) for item in value)
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return str(value)


environment.filters["audit_value"] = _value_text
environment.globals["audit_diff"] = service.diff
environment.globals["audit_field_keys"] = frozenset(FIELD_LABELS)


def _values(query: Any) -> dict[str, str]:
    values = {}
    for name in FILTERS:
        value = query.get(name)
        if isinstance(value, str) and value.strip():
            values[name] = value.strip()
    return values


@router.get("")
async def audit_page(
    request: Request, current: SignedIn, session: Session, settings: AppSettings
) -> Response:
    values = _values(request.query_params)
    before = request.query_params.get("before_id", "")
    before_id = int(before) if before.isdigit() and 0 < int(before) < 2**63 else None
    problems: list[Problem] = []
    page = None
    try:
        where = await filters(session, settings, before_id=before_id, **values)
        page = await service.list_entries(session, where, PAGE_SIZE)
    except PostbackError as exc:
        problems.append(Problem(exc.field, exc.message))
    older = (
        "/admin/audit?" + urlencode({**values, "before_id": page.next_before_id})
        if page is not None and page.next_before_id is not None
        else None
    )
    return web.render(
        request,
        "audit/audit.html",
        AUDIT_LABELS,
        status_code=422 if problems else 200,
        lang_path="/admin/audit",
        session=current,
        values=values,
        page=page,
        problems=problems,
        older_url=older,
        newest_url=("/admin/audit?" + urlencode(values)) if before_id is not None else None,
        zone=settings.timezone,
        slugs=await rejections.tenant_slugs(session),
        actions=ACTIONS,
        known_actions=set(ACTIONS),
    )
