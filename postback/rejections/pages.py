"""`/admin/rejections`: the work queue in the browser (signed-in admin), with its filters,
each rejection's payload shown as text, and replay (one, corrected, or every match)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from postback.admin.pages import AdminRoute
from postback.admin.routes import CheckedForm, SignedIn
from postback.admin.service import Problem
from postback.audit.routes import Audited
from postback.auth import ADMIN
from postback.deps import AppSettings, Session
from postback.errors import PostbackError
from postback.ingest import fields
from postback.ingest.service import Unavailable
from postback.rejections import repository, service
from postback.rejections.labels import LABELS
from postback.rejections.routes import Ingest, RejectionId
from postback.rejections.schemas import Reason, ReplayIn
from postback.rejections.service import Filters, Replayed, StillInvalid
from postback.web import render as web
from postback.web.render import environment
from postback.web.session import BrowserSession

router = APIRouter(prefix="/admin/rejections", include_in_schema=False, route_class=AdminRoute)
PAGE_SIZE = 50
FILTERS = ("tenant", "reason", "since", "until", "replayed")
REPLAYED = {"yes": True, "no": False}
PAGE_ACTOR = "admin (browser)"
CORRECTION = "field."  # a correction's form name: field.<parameter>
COUNTS = ("replayed", "still_invalid", "already_replayed", "unavailable")


def _pretty_json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


environment.filters["pretty_json"] = _pretty_json


def _filter_values(source: Any) -> dict[str, str]:
    """The filters a query string or form carries, as text (empty ones left out)."""
    values = {}
    for name in FILTERS:
        value = source.get(name)
        if isinstance(value, str) and value.strip():
            values[name] = value.strip()
    return values


def _filters(values: dict[str, str]) -> Filters | Problem:
    reason = values.get("reason")
    if reason is not None and reason not in Reason.__members__:
        return Problem("reason", f"must be one of {', '.join(Reason.__members__)}")
    replayed = values.get("replayed")
    if replayed is not None and replayed not in REPLAYED:
        return Problem("replayed", "must be yes or no")
    return Filters(
        tenant=values.get("tenant"),
        reason=reason,
        since=values.get("since"),
        until=values.get("until"),
        replayed=REPLAYED.get(replayed) if replayed else None,
    )


def _list_url(values: dict[str, str], **extra: object) -> str:
    query = urlencode({**values, **{k: str(v) for k, v in extra.items()}})
    return "/admin/rejections" + (f"?{query}" if query else "")


def correctable(rejection: Any) -> list[tuple[str, str]]:
    """The fields a replay form offers to correct: each named in its errors that is a
    postback parameter (not a token), with the value it was sent."""
    offered = []
    payload = rejection.payload or {}
    for error in rejection.errors:
        name = error.get("field") if isinstance(error, dict) else None
        if not isinstance(name, str) or name in fields.TOKEN_FIELDS:
            continue
        if name not in fields.KNOWN_FIELDS and name not in payload:
            continue
        value = payload.get(name)
        if isinstance(value, list):
            value = value[-1] if value else ""
        offered.append((name, "" if value is None else str(value)))
    return offered


environment.globals["correctable"] = correctable


@router.get("")
async def rejections_page(
    request: Request,
    current: SignedIn,
    session: Session,
    settings: AppSettings,
) -> Response:
    return await _render_list(request, current, session, settings.timezone)


@router.post("/replay")
async def replay_matching(
    current: SignedIn,
    form: CheckedForm,
    session: Audited,
    settings: AppSettings,
    ingest: Ingest,
    request: Request,
) -> Response:
    values = _filter_values(form)
    filters = _filters(values)
    if isinstance(filters, Problem):
        return await _render_list(request, current, session, settings.timezone, [filters], 422)
    try:
        counts = await service.replay_matching(
            session, ingest, ADMIN, filters, zone=ZoneInfo(settings.timezone), by=PAGE_ACTOR
        )
    except PostbackError as exc:
        await session.rollback()
        problems = [Problem(exc.field, exc.message)]
        return await _render_list(request, current, session, settings.timezone, problems, 422)
    extra: dict[str, object] = {name: getattr(counts, name) for name in COUNTS}
    if counts.more:
        extra["more"] = 1
    return RedirectResponse(_list_url(values, notice="bulk", **extra), status_code=303)


@router.post("/{rejection_id}/replay")
async def replay_one(
    request: Request,
    rejection_id: RejectionId,
    current: SignedIn,
    form: CheckedForm,
    session: Audited,
    settings: AppSettings,
    ingest: Ingest,
) -> Response:
    back = _filter_values(dict(parse_qsl(str(form.get("back") or ""))))
    try:
        fix = _corrections(form)
    except ValidationError as exc:
        problems = [Problem(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        return await _render_list(request, current, session, settings.timezone, problems, 422)
    outcome = await service.replay(session, ingest, rejection_id, fix, by=PAGE_ACTOR)
    match outcome:
        case Replayed(conversion_pk=pk):
            return RedirectResponse(
                _list_url(back, notice="replayed", conversion=pk or ""), status_code=303
            )
        case StillInvalid(errors=errors):
            problems = [Problem(f"#{rejection_id} {e['field']}", e["message"]) for e in errors]
            return await _render_list(request, current, session, settings.timezone, problems, 422)
        case Unavailable():
            problems = [Problem(f"#{rejection_id}", LABELS["unavailable"][0])]
            return await _render_list(request, current, session, settings.timezone, problems, 503)


def _corrections(form: FormData) -> ReplayIn | None:
    corrected: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key.startswith(CORRECTION) and isinstance(value, str):
            corrected[key.removeprefix(CORRECTION)] = value.strip() or None
    tenant = form.get("tenant")
    chosen = tenant.strip() if isinstance(tenant, str) and tenant.strip() else None
    if not corrected and chosen is None:
        return None
    return ReplayIn.model_validate({"fields": corrected, "tenant": chosen})


async def _render_list(
    request: Request,
    current: BrowserSession,
    session: Session,
    zone: str,
    problems: list[Problem] | None = None,
    status_code: int = 200,
) -> Response:
    query = request.query_params
    values = _filter_values(query)
    problems = list(problems or [])
    page_number = int(query["page"]) if query.get("page", "").isdigit() else 1
    page_number = min(max(page_number, 1), 1_000_000)
    filters = _filters(values)
    listed = None
    if isinstance(filters, Problem):
        problems.append(filters)
        status_code = 422
    else:
        try:
            listed = await service.list_rejections(
                session, ADMIN, filters, page=page_number, page_size=PAGE_SIZE, zone=ZoneInfo(zone)
            )
        except PostbackError as exc:
            problems.append(Problem(exc.field, exc.message))
            status_code = 422
    return web.render(
        request,
        "rejections/rejections.html",
        LABELS,
        status_code=status_code,
        lang_path="/admin/rejections",
        session=current,
        values=values,
        back=urlencode(values),
        listed=listed,
        problems=problems,
        notice=_notice(query),
        more=query.get("more") == "1",
        zone=zone,
        reasons=list(Reason.__members__),
        slugs=await repository.tenant_slugs(session),
        previous_url=_list_url(values, page=page_number - 1) if page_number > 1 else None,
        next_url=(
            _list_url(values, page=page_number + 1)
            if listed and page_number * PAGE_SIZE < listed.total
            else None
        ),
        page_number=page_number,
    )


def _notice(query: Any) -> tuple[str, dict[str, object]] | None:
    """What the last replay did, from the redirect's query string (numbers only)."""
    notice = query.get("notice")
    if notice == "replayed":
        pk = query.get("conversion", "")
        return ("notice_replayed", {"id": int(pk) if pk.isdigit() else "?"})
    if notice == "bulk":
        counts = {name: query.get(name, "0") for name in COUNTS}
        return ("notice_bulk", {k: int(v) if v.isdigit() else 0 for k, v in counts.items()})
    return None
