"""Sign-in with the OIDC provider (Google): `GET /auth/oidc/start` sends the browser to the
provider, `GET /auth/oidc/callback` takes it back, checks the answer and opens a session of
the personal account it names (admins to /admin, everyone else to /dashboard). A refusal is
the sign-in page of the area the person came from, saying why. Off (404) while
POSTBACK_OIDC_ISSUER is unset.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from postback.accounts import service
from postback.accounts.oidc import Flow, OidcClient, OidcError, OidcFailure, VerifiedIdentity
from postback.accounts.service import OidcRefusal
from postback.admin import pages as admin_pages
from postback.audit import service as audit
from postback.audit.schemas import Actor
from postback.auth import Refusal, user_identity
from postback.dashboard import pages as dashboard_pages
from postback.errors import NotFound
from postback.web import session as cookie
from postback.web.throttle import client_address

router = APIRouter(prefix="/auth/oidc", include_in_schema=False)

Area = Literal["admin", "dashboard"]
CALLBACK_PATH = "/auth/oidc/callback"

# The status of each refusal on the sign-in page.
STATUS = {
    OidcFailure.UNREACHABLE: 502,
    OidcFailure.BAD_STATE: 400,
    OidcFailure.DENIED: 403,
    OidcFailure.BAD_TOKEN: 400,
    OidcFailure.UNVERIFIED: 403,
    OidcFailure.DOMAIN: 403,
    OidcRefusal.NO_SUCH_USER: 403,
    OidcRefusal.LINKED_ELSEWHERE: 403,
    OidcRefusal.DISABLED: 403,
}


def client(request: Request) -> OidcClient:
    """The app's provider client (made at first use, keeping the discovery and JWKS)."""
    settings = request.app.state.settings
    if settings.oidc_issuer is None:
        raise NotFound("sign-in with an OIDC provider is not set up (POSTBACK_OIDC_ISSUER)")
    found: OidcClient | None = getattr(request.app.state, "oidc_client", None)
    if found is None:
        found = request.app.state.oidc_client = OidcClient(settings)
    return found


def redirect_uri(request: Request) -> str:
    """The callback as the provider must know it: under POSTBACK_PUBLIC_URL, else this
    request's own base URL."""
    base = request.app.state.settings.public_url or str(request.base_url)
    return base.rstrip("/") + CALLBACK_PATH


async def refused(request: Request, area: str, why: OidcFailure | OidcRefusal) -> Response:
    """The sign-in page of `area`, saying why the sign-in was refused."""
    current = cookie.for_sign_in_form(request, await cookie.read(request))
    error = (why.value, 0)
    status = STATUS[why]
    if area == "admin":
        response = admin_pages.render(
            request, "login.html", session=current, status_code=status, next="/admin", error=error
        )
        cookie.write(request, response, current)
    else:
        response = dashboard_pages.login(request, current, status_code=status, error=error)
    cookie.forget_flow(response)
    return response


@router.get("/start")
async def start(request: Request, next: Annotated[Area, Query()] = "dashboard") -> Response:
    provider = client(request)
    flow = Flow.new()
    try:
        url = await provider.authorization_url(flow, redirect_uri(request))
    except OidcError as exc:
        return await refused(request, next, exc.failure)
    response = RedirectResponse(url, status_code=303)
    kept = {"state": flow.state, "nonce": flow.nonce, "verifier": flow.verifier, "next": next}
    cookie.keep_flow(request, response, kept)
    return response


@router.get("/callback")
async def callback(request: Request) -> Response:
    provider = client(request)
    kept = cookie.read_flow(request)
    area = (kept or {}).get("next", "dashboard")
    given = request.query_params
    if kept is None or not given.get("state") or given.get("state") != kept.get("state"):
        return await refused(request, area, OidcFailure.BAD_STATE)
    code = given.get("code")
    if given.get("error") or not code:
        return await refused(request, area, OidcFailure.DENIED)
    flow = Flow(kept["state"], kept.get("nonce", ""), kept.get("verifier", ""))
    try:
        id_token = await provider.exchange(code, flow, redirect_uri(request))
        who = await provider.verify(id_token, flow)
    except OidcError as exc:
        return await refused(request, area, exc.failure)
    found = await _account(request, who)
    if isinstance(found, OidcRefusal):
        return await refused(request, area, found)
    identity = await user_identity(request, found)
    if isinstance(identity, Refusal):
        return await refused(request, area, OidcRefusal.DISABLED)
    target = "/admin" if identity.principal.may_change else "/dashboard"
    response = RedirectResponse(target, status_code=303)
    cookie.write(request, response, await cookie.start(request, identity))
    cookie.forget_flow(response)
    return response


async def _account(request: Request, who: VerifiedIdentity) -> int | OidcRefusal:
    """The account `who` signs in to, in a unit of work of its own: committed before the
    session is opened (linking or creating it is recorded as done by that person)."""
    settings = request.app.state.settings
    engine = request.app.state.db.engine
    actor = Actor(
        "user",
        who.email,
        client_ip=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        audit.act_as(session, actor)
        return await service.user_for_oidc(session, who, create=settings.oidc_create_users)
