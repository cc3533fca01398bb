"""The admin's users pages (/admin/users): the list with a form to create a user, and each
user's page (name, role, partner; disable or enable; reset the password; end its sessions).

Thin like every page: the admin's session and CSRF check (admin/routes.py), one call of the
accounts service, a page rendered through admin/pages.py. Every form answers with a redirect
(post/redirect/get); a generated password rides to the next view of the user's page only
(`keep_once` in web/session.py), so a reload neither posts again nor shows it again.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from postback.accounts import repository, service
from postback.accounts.models import Role
from postback.accounts.routes import UserId
from postback.accounts.schemas import UserCreate, UserUpdate
from postback.admin.pages import AdminRoute, render
from postback.admin.routes import CheckedForm, SignedIn
from postback.audit.routes import Audited
from postback.auth import Principal
from postback.deps import Session
from postback.errors import PostbackError
from postback.web import session as cookie
from postback.web.session import BrowserSession

router = APIRouter(prefix="/admin/users", include_in_schema=False, route_class=AdminRoute)

ROLES = tuple(role.value for role in Role)
NOTICES = ("saved", "disabled", "enabled")
Problem = tuple[str, str]
M = TypeVar("M", bound=BaseModel)


def _actor(current: BrowserSession) -> Principal:
    assert current.identity is not None  # SignedIn: an admin's session
    return current.identity.principal


def _url(user_id: int, notice: str | None = None) -> str:
    return f"/admin/users/{user_id}" + (f"?notice={notice}" if notice else "")


def _fields(form: FormData, names: tuple[str, ...]) -> dict[str, Any]:
    """The form's non-empty text fields among `names` (an empty field means "not given")."""
    values = {name: form.get(name) for name in names}
    return {k: v.strip() for k, v in values.items() if isinstance(v, str) and v.strip()}


def _parsed(model: type[M], values: dict[str, Any]) -> M | list[Problem]:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        return [(".".join(str(p) for p in e["loc"]) or "form", e["msg"]) for e in exc.errors()]


async def _partners(session: AsyncSession) -> list[str]:
    return list(await repository.partner_slugs(session))


async def _list_page(
    request: Request,
    current: BrowserSession,
    session: AsyncSession,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    problems: list[Problem] | None = None,
) -> Response:
    return render(
        request,
        "users/users.html",
        session=current,
        reporting_zone=request.app.state.settings.timezone,
        status_code=status_code,
        users=await service.list_users(session),
        roles=ROLES,
        partners=await _partners(session),
        values=values or {"role": "analyst"},
        problems=problems or [],
    )


@router.get("")
async def user_list(request: Request, current: SignedIn, session: Session) -> Response:
    return await _list_page(request, current, session)


@router.post("")
async def create_user(
    request: Request, current: SignedIn, form: CheckedForm, session: Audited
) -> Response:
    values = _fields(form, ("email", "display_name", "role", "partner", "password"))
    if values.get("role") != Role.PARTNER:
        values.pop("partner", None)
    data = _parsed(UserCreate, values)
    try:
        if isinstance(data, list):
            raise _Refused(data)
        created = await service.create_user(session, _actor(current), data)
    except (PostbackError, _Refused) as exc:
        await session.rollback()
        shown = {k: v for k, v in values.items() if k != "password"}
        return await _list_page(
            request, current, session, status_code=422, values=shown, problems=_problems(exc)
        )
    once = {"notice": "user_created", "password": created.password}
    return _shown_after_redirect(request, current, created.id, once)


class _Refused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("refused")
        self.problems = problems


def _problems(exc: Exception) -> list[Problem]:
    if isinstance(exc, _Refused):
        return exc.problems
    assert isinstance(exc, PostbackError)
    return [(exc.field, exc.message)]


def _shown_after_redirect(
    request: Request, current: BrowserSession, user_id: int, once: dict[str, Any]
) -> Response:
    redirect = RedirectResponse(_url(user_id), status_code=303)
    cookie.keep_once(request, redirect, current, _url(user_id), once)
    return redirect


async def _user_page(
    request: Request,
    current: BrowserSession,
    session: AsyncSession,
    user_id: int,
    *,
    status_code: int = 200,
    problems: list[Problem] | None = None,
) -> Response:
    once = cookie.read_once(request, current)
    notice = request.query_params.get("notice")
    response = render(
        request,
        "users/user.html",
        session=current,
        reporting_zone=request.app.state.settings.timezone,
        status_code=status_code,
        lang_path=_url(user_id),
        user=await service.get_user(session, user_id),
        roles=ROLES,
        partners=await _partners(session),
        problems=problems or [],
        notice=(once or {}).get("notice") or (f"user_{notice}" if notice in NOTICES else None),
        notice_count=(once or {}).get("count"),
        password=(once or {}).get("password"),
    )
    if once is not None:
        cookie.forget_once(request, response)
    return response


@router.get("/{user_id}")
async def user_page(
    request: Request, user_id: UserId, current: SignedIn, session: Session
) -> Response:
    return await _user_page(request, current, session, user_id)


@router.post("/{user_id}")
async def update_user(
    request: Request, user_id: UserId, current: SignedIn, form: CheckedForm, session: Audited
) -> Response:
    values = _fields(form, ("display_name", "role", "partner"))
    if values.get("role") and values["role"] != Role.PARTNER:
        values["partner"] = None
    data = _parsed(UserUpdate, values)
    try:
        if isinstance(data, list):
            raise _Refused(data)
        await service.update_user(session, _actor(current), user_id, data)
    except (PostbackError, _Refused) as exc:
        await session.rollback()
        return await _user_page(
            request, current, session, user_id, status_code=422, problems=_problems(exc)
        )
    return RedirectResponse(_url(user_id, "saved"), status_code=303)


async def _set_disabled(
    request: Request, user_id: int, disabled: bool, current: BrowserSession, session: Session
) -> Response:
    try:
        await service.update_user(session, _actor(current), user_id, UserUpdate(disabled=disabled))
    except PostbackError as exc:
        await session.rollback()
        return await _user_page(
            request, current, session, user_id, status_code=exc.status_code,
            problems=_problems(exc),
        )  # fmt: skip
    return RedirectResponse(_url(user_id, "disabled" if disabled else "enabled"), status_code=303)


@router.post("/{user_id}/disable")
async def disable_user(
    request: Request, user_id: UserId, current: SignedIn, _: CheckedForm, session: Audited
) -> Response:
    return await _set_disabled(request, user_id, True, current, session)


@router.post("/{user_id}/enable")
async def enable_user(
    request: Request, user_id: UserId, current: SignedIn, _: CheckedForm, session: Audited
) -> Response:
    return await _set_disabled(request, user_id, False, current, session)


@router.post("/{user_id}/reset-password")
async def reset_password(
    request: Request, user_id: UserId, current: SignedIn, _: CheckedForm, session: Audited
) -> Response:
    reset = await service.reset_password(session, _actor(current), user_id)
    once = {"notice": "password_reset", "password": reset.password}
    return _shown_after_redirect(request, current, user_id, once)


@router.post("/{user_id}/revoke-sessions")
async def revoke_sessions(
    request: Request, user_id: UserId, current: SignedIn, _: CheckedForm, session: Audited
) -> Response:
    revoked = await service.revoke_sessions(session, _actor(current), user_id)
    once = {"notice": "sessions_revoked", "count": revoked.sessions_revoked}
    return _shown_after_redirect(request, current, user_id, once)
