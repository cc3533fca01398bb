"""The /ask page: sign in (admin token, a partner's API key, or the admin's session), ask
questions in Chinese or English, see the interpretation, a chart, the table and the SQL.

The page's own session is a signed cookie scoped to /ask, holding a CSRF token and who is
asking: the admin, or one partner (with a fingerprint of its API key, so rotating the key or
disabling the partner ends the session). The page asks through `POST /ask/answer`, which
answers exactly like `POST /api/nlq` does for the same principal.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from sqlalchemy import ColumnElement, Row, select
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from postback import __version__
from postback.admin import i18n
from postback.admin import session as admin_session
from postback.admin.throttle import SignInThrottle
from postback.auth import Principal
from postback.errors import error_body
from postback.nlq import service
from postback.nlq.labels import EXAMPLES, Translator
from postback.nlq.plan import CannotAnswer
from postback.nlq.routes import refusal_body
from postback.nlq.schemas import NlqQuestion
from postback.security import hash_secret, secrets_equal
from postback.tenants.models import Tenant
from postback.web.cookies import CSRF_FIELD, SignedCookie, csrf_matches, new_csrf
from postback.web.headers import CSP, PAGE_HEADERS, PAGE_POLICY

pages_router = APIRouter(include_in_schema=False)

COOKIE_JAR = SignedCookie("postback_ask", path="/ask", purpose="ask")
CSRF_HEADER = "x-csrf-token"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
TEMPLATES = Path(__file__).parent / "templates"
SECURITY_HEADERS = {CSP: PAGE_POLICY, **PAGE_HEADERS, "Cache-Control": "no-store"}

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["version"] = __version__


@dataclass(frozen=True, slots=True)
class AskSession:
    """`tenant_id` None with `signed_in`: the admin. `key`: the partner's API key fingerprint."""

    csrf: str
    signed_in: bool
    tenant_id: int | None = None
    key: str | None = None

    def csrf_matches(self, given: object) -> bool:
        return csrf_matches(self.csrf, given)


@dataclass(frozen=True, slots=True)
class Asker:
    """Who is asking, checked against the database on every request."""

    principal: Principal
    name: str | None


def _key_fingerprint(admin_token: str, api_key_hash: str) -> str:
    return hmac.new(admin_token.encode(), api_key_hash.encode(), hashlib.sha256).hexdigest()[:32]


def read_session(request: Request) -> AskSession | None:
    data = COOKIE_JAR.load(request)
    if data is None:
        return None
    csrf, signed_in = data.get("csrf"), data.get("in")
    tenant_id, key = data.get("tenant"), data.get("key")
    if not isinstance(csrf, str) or not isinstance(signed_in, bool):
        return None
    if tenant_id is not None and (not isinstance(tenant_id, int) or not isinstance(key, str)):
        return None
    return AskSession(csrf=csrf, signed_in=signed_in, tenant_id=tenant_id, key=key)


def write_session(request: Request, response: Response, current: AskSession) -> None:
    data = {"csrf": current.csrf, "in": current.signed_in, "tenant": current.tenant_id}
    COOKIE_JAR.store(request, response, {**data, "key": current.key})


def new_session(
    *, tenant_id: int | None = None, key: str | None = None, signed_in: bool
) -> AskSession:
    return AskSession(csrf=new_csrf(), signed_in=signed_in, tenant_id=tenant_id, key=key)


async def _tenant(request: Request, condition: ColumnElement[bool]) -> Row[Any] | None:
    """The partner's id, name, state and key digest, found by `condition`."""
    query = select(Tenant.id, Tenant.name, Tenant.enabled, Tenant.api_key_hash).where(condition)
    async with request.app.state.db.engine.connect() as conn:
        row: Row[Any] | None = (await conn.execute(query)).first()
    return row


async def current_asker(request: Request, current: AskSession | None) -> Asker | None:
    """The admin, or a partner still enabled and with the same API key; else None."""
    if current is None or not current.signed_in:
        return None
    if current.tenant_id is None:
        return Asker(Principal(tenant_id=None), None)
    row = await _tenant(request, Tenant.id == current.tenant_id)
    if row is None or not row.enabled or row.api_key_hash is None:
        return None
    expected = _key_fingerprint(request.app.state.admin_token, row.api_key_hash)
    if current.key is None or not secrets_equal(current.key, expected):
        return None
    return Asker(Principal(tenant_id=row.id), row.name)


def render(
    request: Request,
    template: str,
    *,
    session: AskSession | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    language, chosen_now = i18n.pick(request)
    translate = Translator(language)
    html = environment.get_template(template).render(
        t=translate, lang=language, session=session, **context
    )
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    if chosen_now:
        response.set_cookie(
            i18n.LANG_COOKIE,
            language,
            max_age=LANG_COOKIE_MAX_AGE,
            path=COOKIE_JAR.path,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def throttle_of(request: Request) -> SignInThrottle:
    state = request.app.state
    throttle: SignInThrottle | None = getattr(state, "ask_throttle", None)
    if throttle is None:
        throttle = state.ask_throttle = SignInThrottle()
    return throttle


# --- Pages ------------------------------------------------------------------------------


@pages_router.get("/ask")
async def ask_page(request: Request) -> Response:
    current = read_session(request)
    asker = await current_asker(request, current)
    if asker is None:
        fresh = current if current is not None and not current.signed_in else None
        fresh = fresh or new_session(signed_in=False)
        response = render(
            request, "login.html", session=fresh, who=None, is_admin=False, error=None
        )
        write_session(request, response, fresh)
        return response
    assert current is not None
    language, _ = i18n.pick(request)
    translate = Translator(language)
    who = (
        translate("signed_in_as_admin")
        if asker.principal.is_admin
        else translate("signed_in_as_partner", name=asker.name)
    )
    return render(
        request,
        "ask.html",
        session=current,
        who=who,
        is_admin=asker.principal.is_admin,
        examples=EXAMPLES,
        labels=translate.script_labels(),
        history_scope="admin" if asker.principal.is_admin else str(asker.principal.tenant_id),
    )


@pages_router.post("/ask/login")
async def ask_login(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    current = read_session(request)
    if current is None or not current.csrf_matches(form.get(CSRF_FIELD)):
        return _form_expired(request)
    language, _ = i18n.pick(request)
    translate = Translator(language)
    throttle = throttle_of(request)
    address = request.client.host if request.client else "unknown"
    token = form.get("token")
    token = token.strip() if isinstance(token, str) else ""

    def refuse(message: str, status_code: int) -> Response:
        return render(
            request,
            "login.html",
            session=current,
            status_code=status_code,
            who=None,
            is_admin=False,
            error=message,
        )

    wait = throttle.retry_after(address)
    if wait:
        response = refuse(translate("too_many_attempts", seconds=wait), 429)
        response.headers["Retry-After"] = str(wait)
        return response
    signed: AskSession | None = None
    if token and secrets_equal(token, request.app.state.admin_token):
        signed = new_session(signed_in=True)
    elif token:
        row = await _tenant(request, Tenant.api_key_hash == hash_secret(token))
        if row is not None and not row.enabled:
            throttle.succeeded(address)
            return refuse(translate("partner_disabled"), 403)
        if row is not None:
            signed = new_session(
                signed_in=True,
                tenant_id=row.id,
                key=_key_fingerprint(request.app.state.admin_token, row.api_key_hash),
            )
    if signed is None:
        throttle.failed(address)
        return refuse(translate("wrong_token"), 401)
    throttle.succeeded(address)
    redirect = RedirectResponse("/ask", status_code=303)
    write_session(request, redirect, signed)
    return redirect


@pages_router.post("/ask/logout")
async def ask_logout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    current = read_session(request)
    if current is None or not current.csrf_matches(form.get(CSRF_FIELD)):
        return _form_expired(request)
    response = RedirectResponse("/ask", status_code=303)
    COOKIE_JAR.clear(response)
    return response


@pages_router.get("/admin/ask")
async def from_admin_session(request: Request) -> Response:
    """An admin signed in to /admin continues to /ask without typing the token again."""
    admin = admin_session.read(request)
    if admin is None or not admin.signed_in:
        return RedirectResponse("/admin/login?next=/admin/ask", status_code=303)
    redirect = RedirectResponse("/ask", status_code=303)
    write_session(request, redirect, new_session(signed_in=True))
    return redirect


@pages_router.post("/ask/answer")
async def ask_answer(request: Request) -> Response:
    """The page's questions: the session cookie and its CSRF token instead of a bearer token."""
    current = read_session(request)
    if current is None or not current.csrf_matches(request.headers.get(CSRF_HEADER)):
        return JSONResponse(
            error_body([{"field": "csrf", "message": "missing or wrong X-CSRF-Token"}]),
            status_code=403,
        )
    asker = await current_asker(request, current)
    if asker is None:
        return JSONResponse(
            error_body([{"field": "authorization", "message": "sign in again at /ask"}]),
            status_code=401,
        )
    try:
        body = NlqQuestion.model_validate_json(await request.body())
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "question", "message": e["msg"]}
            for e in exc.errors()
        ]
        return JSONResponse(error_body(errors), status_code=422)
    return await answer_as_json(request, asker.principal, body.question)


def _form_expired(request: Request) -> Response:
    fresh = new_session(signed_in=False)
    response = render(
        request,
        "login.html",
        session=fresh,
        status_code=403,
        who=None,
        is_admin=False,
        error=Translator(i18n.pick(request)[0])("csrf_failed"),
    )
    write_session(request, response, fresh)
    return response


async def answer_as_json(request: Request, principal: Principal, question: str) -> Response:
    """What `POST /api/nlq` answers for this principal and question."""
    settings = request.app.state.settings
    try:
        async with service.reporting_connection(request.app.state) as conn:
            answer = await service.answer(conn, principal, question, settings=settings)
    except CannotAnswer as exc:
        return JSONResponse(refusal_body(exc), status_code=422)
    return JSONResponse(answer.model_dump(mode="json"))
