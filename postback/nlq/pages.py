"""The /ask page: sign in (admin token or a partner's API key; the browser session of
postback/web/session.py, so the admin signed in to /admin and a partner signed in to the
dashboard are signed in here too), ask questions in Chinese or English, see the
interpretation, a chart, the table and the SQL.

The page asks through `POST /ask/answer`, which answers exactly like `POST /api/nlq` does for
the same principal.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from postback.accounts.models import Role
from postback.auth import Identity, Principal
from postback.errors import PostbackError, error_body
from postback.nlq import service
from postback.nlq.edits import PERIODS
from postback.nlq.labels import EXAMPLES, LABELS, SCRIPT_LABELS
from postback.nlq.plan import BREAKDOWNS, METRICS, UNIT_LABELS, CannotAnswer, Language
from postback.nlq.routes import refusal_body
from postback.nlq.schemas import NlqQuestion
from postback.web import render as web
from postback.web import session as browser
from postback.web.labels import Translator, choose
from postback.web.session import CSRF_FIELD, BrowserSession, Refused, Throttled
from postback.web.throttle import Throttle

pages_router = APIRouter(include_in_schema=False)

CSRF_HEADER = "x-csrf-token"


def render(
    request: Request,
    template: str,
    *,
    session: BrowserSession | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """An /ask page (templates/<template>) in the request's language."""
    return web.render(
        request, "ask/" + template, LABELS, status_code=status_code, session=session, **context
    )


def translator(request: Request) -> Translator:
    return Translator(choose(request)[0], LABELS)


def login_page(
    request: Request,
    current: BrowserSession,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "login.html",
        session=current,
        status_code=status_code,
        who=None,
        is_admin=False,
        error=error,
    )


# --- Pages ------------------------------------------------------------------------------


@pages_router.get("/ask")
async def ask_page(request: Request) -> Response:
    current = await browser.read(request)
    asker = current.identity if current is not None else None
    if current is None or asker is None:
        fresh = browser.for_sign_in_form(request, current)
        response = login_page(request, fresh)
        browser.write(request, response, fresh)
        return response
    return _ask_page(request, current, asker)


def _ask_page(request: Request, current: BrowserSession, asker: Identity) -> HTMLResponse:
    translate = translator(request)
    principal = asker.principal
    is_admin = principal.sees_every_partner
    if principal.role is Role.ANALYST:
        who = translate("signed_in_as_analyst", name=asker.name)
    elif is_admin:
        who = translate("signed_in_as_admin")
    else:
        who = translate("signed_in_as_partner", name=asker.name)
    return render(
        request,
        "ask.html",
        session=current,
        who=who,
        is_admin=is_admin,
        examples=EXAMPLES,
        labels=translate.some(SCRIPT_LABELS),
        options=chip_options(translate.language),
        history_scope=_history_scope(principal),
    )


def chip_options(language: Language) -> dict[str, list[dict[str, str]]]:
    """What each chip of the interpretation offers, labelled in the page's language."""
    zh = language == "zh"
    return {
        "measure": [{"key": m.key, "label": m.zh if zh else m.en} for m in METRICS.values()],
        "breakdown": [{"key": b.key, "label": b.zh if zh else b.en} for b in BREAKDOWNS.values()],
        "unit": [{"key": key, "label": names[language]} for key, names in UNIT_LABELS.items()],
        "period": [{"key": key, "label": names[language]} for key, names in PERIODS.items()],
    }


def _history_scope(principal: Principal) -> str:
    """Whose questions the page remembers (in the browser): a user's own, else the admin
    token's or the partner key's."""
    if principal.user_id is not None:
        return f"user-{principal.user_id}"
    return "admin" if principal.sees_every_partner else str(principal.tenant_id)


@pages_router.post("/ask/login")
async def ask_login(request: Request, throttle: Throttle) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    current = await browser.read(request)
    if current is None or not current.csrf_matches(form.get(CSRF_FIELD)):
        return _form_expired(request, current)
    translate = translator(request)
    given = browser.Credentials.of(form)
    outcome = await browser.sign_in(request, throttle, given, "anyone")
    if isinstance(outcome, Throttled):
        wait = outcome.retry_after
        message = translate("too_many_attempts", seconds=wait)
        response = login_page(request, current, status_code=429, error=message)
        response.headers["Retry-After"] = str(wait)
        return response
    if isinstance(outcome, Refused):
        status = 401 if outcome is Refused.WRONG else 403
        message = translate(browser.refusal_label(given, outcome))
        return login_page(request, current, status_code=status, error=message)
    redirect = RedirectResponse("/ask", status_code=303)
    browser.write(request, redirect, await browser.start(request, outcome))
    return redirect


@pages_router.post("/ask/logout")
async def ask_logout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    current = await browser.read(request)
    if current is None or not current.csrf_matches(form.get(CSRF_FIELD)):
        return _form_expired(request, current)
    response = RedirectResponse("/ask", status_code=303)
    await browser.end(request, response, current)
    return response


@pages_router.get("/admin/ask")
async def from_admin_session(request: Request) -> Response:
    """The admin pages' link to /ask: the admin's session opens it as it is."""
    current = await browser.read(request)
    if current is None or not current.is_admin:
        return RedirectResponse("/admin/login?next=/admin/ask", status_code=303)
    return RedirectResponse("/ask", status_code=303)


@pages_router.post("/ask/answer")
async def ask_answer(request: Request) -> Response:
    """The page's questions: the session cookie and its CSRF token instead of a bearer token."""
    current = await browser.read(request)
    if current is None or not current.csrf_matches(request.headers.get(CSRF_HEADER)):
        return JSONResponse(
            error_body([{"field": "csrf", "message": "missing or wrong X-CSRF-Token"}]),
            status_code=403,
        )
    asker = current.identity
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
    return await answer_as_json(request, asker.principal, body)


def _form_expired(request: Request, current: BrowserSession | None) -> Response:
    """The sign-in form again (on the browser's session, or a new one if it had none)."""
    session = browser.for_sign_in_form(request, current)
    response = login_page(
        request, session, status_code=403, error=translator(request)("csrf_failed")
    )
    browser.write(request, response, session)
    return response


async def answer_as_json(request: Request, principal: Principal, body: NlqQuestion) -> Response:
    """What `POST /api/nlq` answers for this principal and question."""
    settings = request.app.state.settings
    try:
        async with service.reporting_connection(request.app.state) as conn:
            answer = await service.answer(
                conn,
                principal,
                body.question,
                settings=settings,
                conversation=body.conversation,
                edit=body.edit,
            )
    except CannotAnswer as exc:
        return JSONResponse(refusal_body(exc), status_code=422)
    except PostbackError as exc:
        problem = error_body([{"field": exc.field, "message": exc.message}])
        return JSONResponse(problem, status_code=exc.status_code)
    return JSONResponse(answer.model_dump(mode="json"))
