"""The admin pages at /admin: sign in with the admin token, then manage partners."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from postback.admin import service
from postback.admin.pages import AdminRoute, CsrfFailed, SignInRequired, render, safe_next
from postback.audit.routes import Audited
from postback.auth import ADMIN
from postback.conversions import pages as conversion_pages
from postback.conversions.routes import ConversionPk
from postback.deps import AppSettings, Session
from postback.tenants.routes import Changes, PublicBase, TenantId
from postback.tenants.service import SECRET_KINDS
from postback.web import session as cookie
from postback.web.session import CSRF_FIELD, BrowserSession, Credentials, Refused, Throttled
from postback.web.throttle import Throttle

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=AdminRoute)

FORM_LIMITS = {"max_files": 0, "max_fields": 100}


async def signed_in(request: Request) -> BrowserSession:
    """An admin's session (an analyst's or a partner's does not open the admin pages)."""
    current = await cookie.read(request)
    if current is None or not current.is_admin:
        raise SignInRequired()
    return current


SignedIn = Annotated[BrowserSession, Depends(signed_in)]


async def checked_form(request: Request, current: SignedIn) -> FormData:
    """The posted form, once its CSRF token is this session's."""
    form = await request.form(**FORM_LIMITS)
    if not current.csrf_matches(form.get(CSRF_FIELD)):
        raise CsrfFailed()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def _partner_url(tenant_id: int, notice: str | None = None) -> str:
    return f"/admin/partners/{tenant_id}" + (f"?notice={notice}" if notice else "")


# --- Signing in and out ---------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request) -> Response:
    current = await cookie.read(request)
    if current is not None and current.is_admin:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    # A partner's or an analyst's session stays (the form only needs its CSRF token).
    current = current or cookie.anonymous(request)
    response = render(
        request, "login.html", session=current, next=safe_next(request.query_params.get("next"))
    )
    cookie.write(request, response, current)
    return response


@router.post("/login")
async def login(request: Request, throttle: Throttle) -> Response:
    form = await request.form(**FORM_LIMITS)
    current = await cookie.read(request)
    if current is None or not current.csrf_matches(form.get(CSRF_FIELD)):
        raise CsrfFailed()
    next_page = safe_next(form.get("next"))
    given = Credentials.of(form)
    outcome = await cookie.sign_in(request, throttle, given, "admin")
    if isinstance(outcome, Throttled):
        response = render(
            request,
            "login.html",
            session=current,
            status_code=429,
            next=next_page,
            error=("too_many_attempts", outcome.retry_after),
        )
        response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    if isinstance(outcome, Refused):
        return render(
            request,
            "login.html",
            session=current,
            status_code=401 if outcome is Refused.WRONG else 403,
            next=next_page,
            error=(cookie.refusal_label(given, outcome), 0),
        )
    redirect = RedirectResponse(next_page, status_code=303)
    cookie.write(request, redirect, await cookie.start(request, outcome))
    return redirect


@router.post("/logout")
async def logout(request: Request, current: SignedIn, _: CheckedForm) -> Response:
    response = RedirectResponse("/admin/login", status_code=303)
    await cookie.end(request, response, current)
    return response


# --- Conversions ----------------------------------------------------------------------


@router.get("/conversions")
async def conversion_search(
    request: Request, current: SignedIn, session: Session, settings: AppSettings
) -> Response:
    found = await conversion_pages.search(session, ADMIN, request.query_params, settings.zone)
    choices = [(p.slug, p.name) for p in await service.partners(session, settings.timezone)]
    return render(
        request,
        "conversions.html",
        session=current,
        status_code=422 if found.problems else 200,
        search=found,
        choices=choices,
        statuses=conversion_pages.STATUSES,
    )


@router.get("/conversions/{conversion_pk}")
async def conversion_page(
    request: Request,
    conversion_pk: ConversionPk,
    current: SignedIn,
    session: Session,
    settings: AppSettings,
) -> Response:
    view = await conversion_pages.conversion(session, ADMIN, conversion_pk, settings.zone)
    return render(
        request,
        "conversion.html",
        session=current,
        view=view,
        forwards=None,
        statuses=conversion_pages.STATUSES,
    )


# --- Partners -------------------------------------------------------------------------


@router.get("")
async def partner_list(
    request: Request, current: SignedIn, session: Session, settings: AppSettings
) -> Response:
    partners = await service.partners(session, settings.timezone)
    return render(request, "partners.html", session=current, partners=partners)


@router.get("/partners/new")
async def new_partner_page(request: Request, current: SignedIn, settings: AppSettings) -> Response:
    return render(
        request,
        "partner_new.html",
        session=current,
        values={"dedup_enabled": True, "retention_days": "7"},
        problems=[],
        reporting_zone=settings.timezone,
        history_days=settings.history_days,
    )


@router.post("/partners/new", dependencies=[Changes])
async def create_partner(
    request: Request,
    current: SignedIn,
    form: CheckedForm,
    session: Audited,
    settings: AppSettings,
    base: PublicBase,
) -> Response:
    try:
        tenant_id, secrets, url = await service.create(
            session, form, default_zone=settings.timezone, base=base
        )
    except service.FormInvalid as exc:
        await session.rollback()
        return render(
            request,
            "partner_new.html",
            session=current,
            status_code=exc.status_code,
            values=service.form_values(form),
            problems=exc.problems,
            reporting_zone=settings.timezone,
            history_days=settings.history_days,
        )
    return _shown_after_redirect(
        request, current, tenant_id, {"notice": "created", "secrets": secrets, "url": url}
    )


@router.get("/partners/{tenant_id}")
async def partner_page(
    request: Request,
    tenant_id: TenantId,
    current: SignedIn,
    session: Session,
    settings: AppSettings,
    base: PublicBase,
) -> Response:
    page = await service.partner_page(session, tenant_id, default_zone=settings.timezone, base=base)
    once = cookie.read_once(request, current)
    if once is None:
        notice = request.query_params.get("notice")
        return _render_partner(
            request, current, page, notice=notice if notice in ("saved",) else None
        )
    response = _render_partner(
        request,
        current,
        page,
        notice="rotated" if once.get("notice") == "rotated" else "created",
        shown_once={str(k): str(v) for k, v in dict(once.get("secrets") or {}).items()},
        url=str(once["url"]) if once.get("url") else None,
    )
    cookie.forget_once(request, response)
    return response


@router.post("/partners/{tenant_id}", dependencies=[Changes])
async def update_partner(
    request: Request,
    tenant_id: TenantId,
    current: SignedIn,
    form: CheckedForm,
    session: Audited,
    settings: AppSettings,
    base: PublicBase,
) -> Response:
    try:
        await service.update(session, tenant_id, form, default_zone=settings.timezone)
    except service.FormInvalid as exc:
        await session.rollback()
        page = await service.partner_page(
            session, tenant_id, default_zone=settings.timezone, base=base
        )
        return _render_partner(
            request, current, page, status_code=exc.status_code, problems=exc.problems, form=form
        )
    return RedirectResponse(_partner_url(tenant_id, "saved"), status_code=303)


@router.post("/partners/{tenant_id}/enable", dependencies=[Changes])
async def enable_partner(
    request: Request,
    tenant_id: TenantId,
    current: SignedIn,
    _: CheckedForm,
    session: Audited,
    settings: AppSettings,
    base: PublicBase,
) -> Response:
    return await _set_enabled(request, tenant_id, True, current, session, settings.timezone, base)


@router.post("/partners/{tenant_id}/disable", dependencies=[Changes])
async def disable_partner(
    request: Request,
    tenant_id: TenantId,
    current: SignedIn,
    _: CheckedForm,
    session: Audited,
    settings: AppSettings,
    base: PublicBase,
) -> Response:
    return await _set_enabled(request, tenant_id, False, current, session, settings.timezone, base)


@router.post("/partners/{tenant_id}/rotate", dependencies=[Changes])
async def rotate_secret(
    request: Request,
    tenant_id: TenantId,
    current: SignedIn,
    form: CheckedForm,
    session: Audited,
    settings: AppSettings,
    base: PublicBase,
) -> Response:
    try:
        kind, secret, url = await service.rotate(
            session, tenant_id, form.get("kind"), default_zone=settings.timezone, base=base
        )
    except service.FormInvalid as exc:
        await session.rollback()
        page = await service.partner_page(
            session, tenant_id, default_zone=settings.timezone, base=base
        )
        return _render_partner(
            request, current, page, status_code=exc.status_code, problems=exc.problems
        )
    shown = {"notice": "rotated", "secrets": {kind: secret}}
    return _shown_after_redirect(
        request, current, tenant_id, shown | {"url": url if kind != "api_key" else None}
    )


def _shown_after_redirect(
    request: Request, current: BrowserSession, tenant_id: int, once: dict[str, Any]
) -> Response:
    """POST, redirect, GET: the partner's page shows the new secrets once (`keep_once`);
    reloading it neither repeats the change nor shows them again."""
    url = _partner_url(tenant_id)
    redirect = RedirectResponse(url, status_code=303)
    cookie.keep_once(request, redirect, current, url.split("?")[0], once)
    return redirect


async def _set_enabled(
    request: Request,
    tenant_id: int,
    enabled: bool,
    current: BrowserSession,
    session: Session,
    zone: str,
    base: str,
) -> Response:
    try:
        await service.set_enabled(session, tenant_id, enabled, default_zone=zone)
    except service.FormInvalid as exc:
        await session.rollback()
        page = await service.partner_page(session, tenant_id, default_zone=zone, base=base)
        return _render_partner(
            request, current, page, status_code=exc.status_code, problems=exc.problems
        )
    return RedirectResponse(_partner_url(tenant_id, "saved"), status_code=303)


def _render_partner(
    request: Request,
    current: BrowserSession,
    page: service.PartnerPage,
    *,
    status_code: int = 200,
    notice: str | None = None,
    problems: list[service.Problem] | None = None,
    shown_once: dict[str, str] | None = None,
    url: str | None = None,
    form: FormData | None = None,
) -> Response:
    tenant = page.tenant
    values = {
        "name": tenant.name,
        "slug": tenant.slug,
        "retention_days": str(tenant.retention_days),
        "rate_limit_per_minute": tenant.rate_limit_per_minute or "",
        "timezone": tenant.timezone or "",
        "dedup_enabled": tenant.dedup_enabled,
        "day_first_dates": tenant.day_first_dates,
        "decimal_comma": tenant.decimal_comma,
    }
    if form is not None:
        values.update({k: v for k, v in service.form_values(form).items() if k in values})
    return render(
        request,
        "partner.html",
        session=current,
        status_code=status_code,
        lang_path=_partner_url(tenant.id),
        page=page,
        tenant=tenant,
        values=values,
        notice=notice,
        problems=problems or [],
        shown_once=shown_once or {},
        url=url or page.postback_url.url,
        url_has_token=url is not None,
        secret_kinds=SECRET_KINDS,
        public_url_set=request.app.state.settings.public_url is not None,
        history_days=request.app.state.settings.history_days,
        base_url=str(request.base_url).rstrip("/"),
    )
