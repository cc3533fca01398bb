"""The admin's forwarding pages: a partner's forwards with their forms
(/admin/partners/{id}/forwards) and its delivery log with every attempt (/deliveries).

Thin like every page: the admin's session and CSRF check (admin/routes.py), one call of the
forwarding service, a page rendered through admin/pages.py. Every form answers with a
redirect (post/redirect/get); what that answer shows (a notice, a test's result, a signing
secret made just now) is kept for the next view of the page only (`keep_once` in
web/session.py), so a reload neither posts again nor shows a secret again. A refusal of a
form shows the form again, each problem next to its field, in the page's language when the
message is one of ours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from postback.admin.pages import AdminRoute, render
from postback.admin.routes import CheckedForm, SignedIn
from postback.audit.routes import Audited
from postback.deps import AppSettings
from postback.errors import InvalidInput
from postback.forwarding import macros, service
from postback.forwarding.routes import Id, Rules
from postback.forwarding.schemas import ForwardIn, ForwardOut, ForwardUpdate, TestSent
from postback.forwarding.service import (
    NotDead,
    Policy,
    SigningNeedsPost,
    TargetNotAllowed,
    UnknownMacro,
)
from postback.tenants import service as tenants
from postback.tenants.routes import TenantId
from postback.tenants.schemas import TenantOut
from postback.web import session as cookie
from postback.web.render import environment
from postback.web.session import BrowserSession

router = APIRouter(
    prefix="/admin/partners/{tenant_id}", include_in_schema=False, route_class=AdminRoute
)

PAGE_SIZE = 50
# A test's answer kept for the page after the redirect: its first characters (the cookie that
# carries it stays far below the 4 KB browsers keep).
EXCERPT_SHOWN = 300
STATES = ("pending", "delivered", "dead")
EVENTS = ("created", "status_changed")
NEW_FORWARD: dict[str, Any] = {
    "url": "",
    "method": "GET",
    "events": list(EVENTS),
    "statuses": "",
    "offers": "",
    "payout_percent": "",
    "signing": False,
    "enabled": True,
}


def _macro_groups() -> dict[str, list[str]]:
    """Every macro of macros.MACROS once, in groups an operator reads."""
    subs = [name for name in macros.PLAIN if "_sub" in name]
    conversion = [name for name in macros.PLAIN if name not in subs] + ["status", "currency"]
    groups = {
        "macros_conversion": conversion,
        "macros_money": [*macros.SHARED, *macros.AMOUNTS],
        "macros_times": list(macros.MOMENTS),
        "macros_subs": subs,
    }
    grouped = {name for names in groups.values() for name in names}
    groups["macros_delivery"] = sorted(macros.MACROS - grouped)
    return groups


MACRO_GROUPS = _macro_groups()


def _percent(value: Decimal) -> str:
    """37.50 -> "37.5%", 100 -> "100%"."""
    return format(value.normalize(), "f") + "%"


environment.filters["percent"] = _percent


# --- Messages ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """A notice or a refusal: a label in the page's language (`key`, `values`), or, when no
    label words it, the text as the service wrote it."""

    key: str | None
    values: dict[str, str]
    text: str = ""


FieldErrors = dict[str, list[Message]]

# Pydantic refusals of the forward form that a label words: (field, error type) -> label.
VALIDATION_LABELS = {
    ("events", "too_short"): "error_events_required",
    ("payout_percent", "greater_than_equal"): "error_percent_range",
    ("payout_percent", "less_than_equal"): "error_percent_range",
    ("payout_percent", "decimal_parsing"): "error_percent_number",
    ("payout_percent", "decimal_max_places"): "error_percent_places",
    ("url", "string_too_short"): "error_required",
    ("url", "string_too_long"): "error_too_long",
    ("statuses", "string_too_long"): "error_too_long",
    ("offers", "string_too_long"): "error_too_long",
}


class MaskedValueLeft(InvalidInput):
    """A changed URL still holds a value the page showed as *** (it would be sent so)."""

    def __init__(self) -> None:
        super().__init__("type the hidden values (***) again, or leave the URL as it was", "url")


def _refusal(exc: InvalidInput) -> Message:
    """The service's refusal, worded by a label when it is one the pages know."""
    if isinstance(exc, UnknownMacro):
        names = ", ".join("{" + name + "}" for name in exc.names)
        return Message("error_unknown_macro", {"names": names}, exc.message)
    if isinstance(exc, TargetNotAllowed):
        return Message("error_target_" + exc.refused.reason, exc.refused.details, exc.message)
    if isinstance(exc, SigningNeedsPost):
        return Message("error_signing_needs_post", {}, exc.message)
    if isinstance(exc, NotDead):
        return Message("error_not_dead", {}, exc.message)
    if isinstance(exc, MaskedValueLeft):
        return Message("error_url_masked", {}, exc.message)
    return Message(None, {}, exc.message)


def _field_errors(exc: ValidationError | InvalidInput) -> FieldErrors:
    if isinstance(exc, InvalidInput):
        return {exc.field: [_refusal(exc)]}
    errors: FieldErrors = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "request"
        values = {name: str(value) for name, value in (error.get("ctx") or {}).items()}
        key = VALIDATION_LABELS.get((field, error["type"]))
        errors.setdefault(field, []).append(Message(key, values, error["msg"]))
    return errors


# --- The forward form -------------------------------------------------------------------


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _items(text: str) -> list[str] | None:
    """A comma-separated list (an ideographic comma too), blanks dropped; None when empty."""
    found = [item.strip() for item in re.split(r"[,，]", text) if item.strip()]
    return found or None


def _form_values(form: FormData) -> dict[str, Any]:
    """The form as it was sent, to show it again."""
    return {
        "url": _text(form, "url"),
        "method": _text(form, "method") or "GET",
        "events": [e for e in form.getlist("events") if isinstance(e, str)],
        "statuses": _text(form, "statuses"),
        "offers": _text(form, "offers"),
        "payout_percent": _text(form, "payout_percent"),
        "signing": "signing" in form,
        "enabled": "enabled" in form,
    }


def _forward_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The form's values in the API's terms (ForwardIn, ForwardUpdate)."""
    return {
        **values,
        "statuses": _items(values["statuses"]),
        "offers": _items(values["offers"]),
        "payout_percent": values["payout_percent"] or None,
    }


def _values_of(forward: ForwardOut) -> dict[str, Any]:
    percent = forward.payout_percent
    return {
        "url": forward.url,
        "method": forward.method,
        "events": list(forward.events),
        "statuses": ", ".join(forward.statuses or ()),
        "offers": ", ".join(forward.offers or ()),
        "payout_percent": "" if percent is None else format(percent.normalize(), "f"),
        "signing": forward.signing,
        "enabled": forward.enabled,
    }


def _update_fields(form: FormData, shown: str) -> dict[str, Any]:
    """The edit form's fields; the URL only when changed, since the page showed it masked."""
    fields = _forward_fields(_form_values(form))
    if fields["url"] == shown:
        del fields["url"]
    elif "***" in shown and "***" in fields["url"]:
        raise MaskedValueLeft()
    return fields


# --- The partner a page is about ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Partner:
    """What every forwarding page works with: the request and the admin's session, the
    database session, which partner, and the forwarding rules of the settings."""

    request: Request
    current: BrowserSession
    session: AsyncSession
    tenant_id: int
    zone: str
    policy: Policy

    @property
    def forwards(self) -> str:
        return f"/admin/partners/{self.tenant_id}/forwards"

    @property
    def deliveries(self) -> str:
        return f"/admin/partners/{self.tenant_id}/deliveries"

    async def tenant(self) -> TenantOut:
        return await tenants.get_tenant(self.session, self.tenant_id, self.zone)

    async def page(
        self,
        template: str,
        *,
        once: dict[str, Any] | None = None,
        status_code: int = 200,
        **context: Any,
    ) -> Response:
        """The page, with what was kept for it shown (and then forgotten)."""
        response = render(
            self.request,
            "forwarding/" + template,
            session=self.current,
            status_code=status_code,
            tenant=await self.tenant(),
            once=once or {},
            **context,
        )
        if once is not None:
            cookie.forget_once(self.request, response)
        return response

    def done(self, path: str, anchor: str = "", **shown: Any) -> RedirectResponse:
        """See the page at `path`; it shows `shown` this once."""
        response = RedirectResponse(path + anchor, status_code=303)
        cookie.keep_once(self.request, response, self.current, path, shown)
        return response


def _partner(
    request: Request,
    tenant_id: TenantId,
    current: SignedIn,
    session: Audited,
    settings: AppSettings,
    policy: Rules,
) -> Partner:
    return Partner(request, current, session, tenant_id, settings.timezone, policy)


On = Annotated[Partner, Depends(_partner)]


def _notice(key: str, **values: object) -> dict[str, Any]:
    return asdict(Message(key, {name: str(value) for name, value in values.items()}))


def _tested(result: TestSent) -> dict[str, Any]:
    excerpt = result.response_excerpt
    return {
        "ok": result.ok,
        "url": result.url,
        "status_code": result.status_code,
        "latency_ms": round(result.latency_ms, 1),
        "error": result.error,
        "excerpt": excerpt[:EXCERPT_SHOWN] if excerpt else None,
        "cut": excerpt is not None and len(excerpt) > EXCERPT_SHOWN,
    }


# --- Forwards ---------------------------------------------------------------------------


async def _forwards_page(
    on: Partner,
    *,
    once: dict[str, Any] | None = None,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    return await on.page(
        "forwards.html",
        once=once,
        status_code=status_code,
        forwards=await service.list_forwards(on.session, on.tenant_id, on.policy),
        values=values or NEW_FORWARD,
        errors=errors or {},
        macro_groups=MACRO_GROUPS,
    )


async def _forward_page(
    on: Partner,
    forward_id: int,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    forward = await service.get_forward(on.session, on.tenant_id, forward_id, on.policy)
    return await on.page(
        "forward.html",
        status_code=status_code,
        forward=forward,
        values=values or _values_of(forward),
        errors=errors or {},
        macro_groups=MACRO_GROUPS,
    )


@router.get("/forwards")
async def forwards_page(on: On) -> Response:
    return await _forwards_page(on, once=cookie.read_once(on.request, on.current))


@router.post("/forwards")
async def add_forward(on: On, form: CheckedForm) -> Response:
    values = _form_values(form)
    try:
        data = ForwardIn.model_validate(_forward_fields(values))
        saved = await service.create_forward(on.session, on.tenant_id, data, on.policy)
    except (ValidationError, InvalidInput) as exc:
        return await _forwards_page(on, status_code=422, values=values, errors=_field_errors(exc))
    return on.done(
        on.forwards,
        f"#forward-{saved.id}",
        notice=_notice("notice_forward_added"),
        forward_id=saved.id,
        secret=saved.signing_secret,
    )


@router.get("/forwards/{forward_id}")
async def forward_page(forward_id: Id, on: On) -> Response:
    return await _forward_page(on, forward_id)


@router.post("/forwards/{forward_id}")
async def update_forward(forward_id: Id, on: On, form: CheckedForm) -> Response:
    shown = (await service.get_forward(on.session, on.tenant_id, forward_id, on.policy)).url
    try:
        data = ForwardUpdate.model_validate(_update_fields(form, shown))
        saved = await service.update_forward(on.session, on.tenant_id, forward_id, data, on.policy)
    except (ValidationError, InvalidInput) as exc:
        await on.session.rollback()
        return await _forward_page(
            on, forward_id, status_code=422, values=_form_values(form), errors=_field_errors(exc)
        )
    return on.done(
        on.forwards,
        f"#forward-{forward_id}",
        notice=_notice("notice_forward_saved"),
        forward_id=forward_id,
        secret=saved.signing_secret,
    )


async def _set_enabled(on: Partner, forward_id: int, enabled: bool) -> Response:
    change = ForwardUpdate(enabled=enabled)
    await service.update_forward(on.session, on.tenant_id, forward_id, change, on.policy)
    notice = "notice_forward_resumed" if enabled else "notice_forward_paused"
    return on.done(
        on.forwards, f"#forward-{forward_id}", notice=_notice(notice), forward_id=forward_id
    )


@router.post("/forwards/{forward_id}/pause")
async def pause_forward(forward_id: Id, on: On, _: CheckedForm) -> Response:
    return await _set_enabled(on, forward_id, False)


@router.post("/forwards/{forward_id}/resume")
async def resume_forward(forward_id: Id, on: On, _: CheckedForm) -> Response:
    return await _set_enabled(on, forward_id, True)


@router.post("/forwards/{forward_id}/delete")
async def delete_forward(forward_id: Id, on: On, _: CheckedForm) -> Response:
    await service.delete_forward(on.session, on.tenant_id, forward_id)
    return on.done(on.forwards, notice=_notice("notice_forward_deleted"))


@router.post("/forwards/{forward_id}/rotate-secret")
async def rotate_secret(forward_id: Id, on: On, _: CheckedForm) -> Response:
    anchor = f"#forward-{forward_id}"
    try:
        saved = await service.rotate_signing_secret(on.session, on.tenant_id, forward_id, on.policy)
    except InvalidInput as exc:
        return on.done(on.forwards, anchor, error=asdict(_refusal(exc)))
    return on.done(
        on.forwards,
        anchor,
        notice=_notice("notice_secret_rotated"),
        forward_id=forward_id,
        secret=saved.signing_secret,
    )


@router.post("/forwards/{forward_id}/test")
async def send_test(forward_id: Id, on: On, _: CheckedForm) -> Response:
    sender = on.request.app.state.sender
    result = await service.send_test(on.session, on.tenant_id, forward_id, sender, on.policy)
    return on.done(
        on.forwards, f"#forward-{forward_id}", forward_id=forward_id, test=_tested(result)
    )


@router.post("/forwards/{forward_id}/resend")
async def resend_dead(forward_id: Id, on: On, _: CheckedForm) -> Response:
    count = await service.resend(on.session, on.tenant_id, forward_id)
    return on.done(
        on.forwards,
        f"#forward-{forward_id}",
        notice=_notice("notice_requeued", count=count),
        forward_id=forward_id,
    )


# --- The delivery log -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogFilters:
    """The log's filters as the page's query string gives them; what is not valid is
    ignored (a filter form sends its empty fields too)."""

    state: str | None = None
    forward_id: int | None = None
    conversion_id: str | None = None
    before_id: int | None = None

    @classmethod
    def of(cls, query: Mapping[str, str]) -> LogFilters:
        state = query.get("state")
        conversion_id = (query.get("conversion_id") or "").strip()
        return cls(
            state=state if state in STATES else None,
            forward_id=_row_id(query.get("forward_id")),
            conversion_id=conversion_id
            if conversion_id and len(conversion_id) <= 255 and "\x00" not in conversion_id
            else None,
            before_id=_row_id(query.get("before_id")),
        )

    def query(self, **changes: Any) -> str:
        """The page's query string with `changes` (None drops a filter)."""
        chosen = asdict(replace(self, **changes))
        return urlencode({name: value for name, value in chosen.items() if value is not None})


def _row_id(text: str | None) -> int | None:
    if text is None or not text.strip().isascii() or not text.strip().isdigit():
        return None
    number = int(text)
    return number if 1 <= number < 2**63 else None


@router.get("/deliveries")
async def delivery_log(on: On) -> Response:
    filters = LogFilters.of(on.request.query_params)
    page = await service.list_deliveries(
        on.session,
        on.tenant_id,
        forward_id=filters.forward_id,
        conversion_id=filters.conversion_id,
        state=filters.state,
        before_id=filters.before_id,
        limit=PAGE_SIZE,
        with_attempts=True,
    )
    return await on.page(
        "deliveries.html",
        page=page,
        filters=filters,
        forwards=await service.list_forwards(on.session, on.tenant_id, on.policy),
        states=STATES,
        page_size=PAGE_SIZE,
    )


@router.get("/deliveries/{delivery_id}")
async def delivery_page(delivery_id: Id, on: On) -> Response:
    delivery = await service.get_delivery(on.session, on.tenant_id, delivery_id)
    once = cookie.read_once(on.request, on.current)
    return await on.page("delivery.html", once=once, delivery=delivery)


@router.post("/deliveries/{delivery_id}/resend")
async def resend_delivery(delivery_id: Id, on: On, _: CheckedForm) -> Response:
    path = f"{on.deliveries}/{delivery_id}"
    delivery = await service.get_delivery(on.session, on.tenant_id, delivery_id)
    try:
        count = await service.resend(on.session, on.tenant_id, delivery.forward_id, delivery_id)
    except InvalidInput as exc:
        return on.done(path, error=asdict(_refusal(exc)))
    return on.done(path, notice=_notice("notice_requeued", count=count))
