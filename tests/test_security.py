"""Every route needs the right credential, secrets are kept hashed and compared in constant
time, CORS is off unless configured.

The route table below is checked against the app itself: a route added without saying who
may call it (and how to call it) fails `TestEveryRouteIsClassified`, so no route can be
open by accident. Each protected route is called by every kind of caller: nobody, a
partner's API key, a partner's user, an analyst, an admin user, and the admin token."""

from __future__ import annotations

import ast
import enum
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from postback.app import PostbackApp, create_app
from postback.ingest.routes import PATHS
from postback.security import hash_secret
from tests.accounts.helpers import csrf_header
from tests.accounts.helpers import sign_in as user_sign_in
from tests.admin.conftest import csrf_in, sign_in
from tests.factories import create_tenant, create_user, postback
from tests.fixtures import ADMIN_TOKEN, make_settings

ROOT = Path(__file__).resolve().parent.parent


class Access(enum.Enum):
    PUBLIC = "anyone"
    READER = "anyone signed in or with a token: a partner sees only its own data"
    EVERY_PARTNER = "reads every partner: an admin or an analyst"
    ADMIN = "changes: an admin (the admin token or an admin user)"
    ADMIN_PAGE = "a signed-in admin session (cookie)"
    USER = "a personal account (any role), not a token"


class Caller(enum.Enum):
    PARTNER_USER = "partner"
    ANALYST = "analyst"
    ADMIN_USER = "admin"


# Who may call what, for the signed-in users (tokens: TestPartnerKey, TestRightCredential).
ALLOWED: dict[Caller, set[Access]] = {
    Caller.PARTNER_USER: {Access.READER, Access.USER},
    Caller.ANALYST: {Access.READER, Access.EVERY_PARTNER, Access.USER},
    Caller.ADMIN_USER: set(Access) - {Access.PUBLIC},
}
USER_PASSWORD = "security test password"


@dataclass(frozen=True)
class Target:
    """Ids a request is made with: an existing partner and one of its conversions."""

    tenant_id: int
    conversion_pk: int
    rejection_pk: int
    forward_id: int
    delivery_id: int
    user_id: int  # a user the admin changes (not the caller)
    alert_pk: int = 0
    channel_id: int = 0
    saved_question_id: int = 0  # another asker's: every caller is told it is not found
    report_id: int = 0


@dataclass(frozen=True)
class Call:
    access: Access
    # What a caller with the right credential sends, and the status it then gets.
    send: Callable[[Target], dict[str, Any]] = lambda _: {}
    status: int = 200
    signs_out: bool = False
    url: str | None = None  # what to request, when not the path itself


def partner_form(slug: str) -> Callable[[Target], dict[str, Any]]:
    return lambda _: {"data": {"name": "Form Partner", "slug": slug, "retention_days": "7"}}


# Every (method, path) of the app, who may call it and how. Public: postback reception,
# health and service pages, the docs and their files, the sign-in page.
ROUTES: dict[tuple[str, str], Call] = {
    ("GET", "/postback/"): Call(Access.PUBLIC, lambda _: {"params": postback("SEC-1")}),
    ("POST", "/postback/"): Call(Access.PUBLIC, lambda _: {"json": postback("SEC-2")}),
    ("GET", "/postback"): Call(Access.PUBLIC, lambda _: {"params": postback("SEC-3")}),
    ("POST", "/postback"): Call(Access.PUBLIC, lambda _: {"data": postback("SEC-4")}),
    ("GET", "/"): Call(Access.PUBLIC),
    ("GET", "/favicon.ico"): Call(Access.PUBLIC),
    ("GET", "/docs"): Call(Access.PUBLIC),
    ("GET", "/redoc"): Call(Access.PUBLIC),
    ("GET", "/openapi.json"): Call(Access.PUBLIC),
    ("GET", "/health"): Call(Access.PUBLIC),
    ("GET", "/health/live"): Call(Access.PUBLIC),
    ("GET", "/info"): Call(Access.PUBLIC),
    ("GET", "/metrics"): Call(Access.PUBLIC),
    ("GET", "/static"): Call(Access.PUBLIC, url="/static/vendor/swagger-ui/swagger-ui.css"),
    ("GET", "/admin/login"): Call(Access.PUBLIC),
    # Signing in is open by nature; without the session's CSRF token it is refused.
    ("POST", "/admin/login"): Call(Access.PUBLIC, status=403),
    # Google sign-in starts and returns here, open by nature; off (404) in this app, which
    # sets no POSTBACK_OIDC_ISSUER (the flow itself: tests/accounts/test_oidc.py).
    ("GET", "/auth/oidc/start"): Call(Access.PUBLIC, status=404),
    ("GET", "/auth/oidc/callback"): Call(Access.PUBLIC, status=404),
    ("GET", "/postback/conversions"): Call(Access.READER),
    ("GET", "/postback/conversions/{conversion_pk}"): Call(Access.READER),
    ("GET", "/postback/conversions/{conversion_pk}/history"): Call(Access.READER),
    ("GET", "/postback/stats"): Call(Access.READER),
    ("POST", "/api/nlq"): Call(Access.READER, lambda _: {"json": {"question": "sales by offer"}}),
    ("GET", "/api/tenants"): Call(Access.EVERY_PARTNER),
    ("POST", "/api/tenants"): Call(
        Access.ADMIN, lambda _: {"json": {"name": "New", "slug": "new-partner"}}, 201
    ),
    ("GET", "/api/tenants/{tenant_id}"): Call(Access.EVERY_PARTNER),
    ("PATCH", "/api/tenants/{tenant_id}"): Call(Access.ADMIN, lambda _: {"json": {"name": "X"}}),
    ("POST", "/api/tenants/{tenant_id}/disable"): Call(Access.ADMIN),
    ("POST", "/api/tenants/{tenant_id}/enable"): Call(Access.ADMIN),
    ("POST", "/api/tenants/{tenant_id}/rotate"): Call(
        Access.ADMIN, lambda _: {"json": {"kind": "tlm_token"}}
    ),
    ("GET", "/api/tenants/{tenant_id}/postback-url"): Call(Access.EVERY_PARTNER),
    # Forwarding: the partner reads its own forwards and delivery log; the admin changes them.
    ("GET", "/api/tenants/{tenant_id}/forwards"): Call(Access.READER),
    ("POST", "/api/tenants/{tenant_id}/forwards"): Call(
        Access.ADMIN, lambda _: {"json": {"url": "http://127.0.0.1:9/new", "enabled": False}}, 201
    ),
    ("GET", "/api/tenants/{tenant_id}/forwards/{forward_id}"): Call(Access.READER),
    ("PATCH", "/api/tenants/{tenant_id}/forwards/{forward_id}"): Call(
        Access.ADMIN, lambda _: {"json": {"offers": ["1001"]}}
    ),
    ("DELETE", "/api/tenants/{tenant_id}/forwards/{forward_id}"): Call(Access.ADMIN, status=204),
    ("POST", "/api/tenants/{tenant_id}/forwards/{forward_id}/rotate-secret"): Call(Access.ADMIN),
    ("POST", "/api/tenants/{tenant_id}/forwards/{forward_id}/resend"): Call(Access.ADMIN),
    ("POST", "/api/tenants/{tenant_id}/forwards/{forward_id}/test"): Call(Access.ADMIN),
    ("GET", "/api/tenants/{tenant_id}/deliveries"): Call(Access.READER),
    ("GET", "/api/tenants/{tenant_id}/deliveries/{delivery_id}"): Call(Access.READER),
    ("POST", "/api/tenants/{tenant_id}/deliveries/{delivery_id}/resend"): Call(Access.ADMIN),
    ("GET", "/api/rejections"): Call(Access.READER),
    ("GET", "/api/alerts"): Call(Access.READER),
    ("POST", "/api/alerts/{alert_id}/acknowledge"): Call(Access.ADMIN),
    ("POST", "/api/alerts/{alert_id}/resolve"): Call(Access.ADMIN),
    # Alert channels: the admin's alone (their URLs carry the receivers' tokens).
    ("GET", "/api/alert-channels"): Call(Access.ADMIN),
    ("POST", "/api/alert-channels"): Call(
        Access.ADMIN,
        lambda _: {"json": {"name": "n", "kind": "slack", "url": "http://127.0.0.1:9/h"}},
        201,
    ),
    ("GET", "/api/alert-channels/{channel_id}"): Call(Access.ADMIN),
    ("PATCH", "/api/alert-channels/{channel_id}"): Call(
        Access.ADMIN, lambda _: {"json": {"name": "renamed"}}
    ),
    ("DELETE", "/api/alert-channels/{channel_id}"): Call(Access.ADMIN, status=204),
    ("POST", "/api/alert-channels/{channel_id}/test"): Call(Access.ADMIN),
    ("GET", "/api/alert-channels/{channel_id}/notifications"): Call(Access.ADMIN),
    # Saved questions are each asker's own: the one the walk names is another asker's, so
    # every caller that may get that far is told it is not found (saving, answering and
    # scheduling one's own: tests/reports/test_routes.py).
    ("GET", "/api/saved-questions"): Call(Access.READER),
    ("POST", "/api/saved-questions"): Call(
        Access.READER,
        lambda _: {"json": {"conversation": "00000000-0000-4000-8000-000000000000", "title": "t"}},
        404,
    ),
    ("PATCH", "/api/saved-questions/{saved_question_id}"): Call(
        Access.READER, lambda _: {"json": {"title": "renamed"}}, 404
    ),
    ("DELETE", "/api/saved-questions/{saved_question_id}"): Call(Access.READER, status=404),
    ("POST", "/api/saved-questions/{saved_question_id}/answer"): Call(Access.READER, status=404),
    # Reports go to the agency's alert channels: its staff schedule them.
    ("POST", "/api/saved-questions/{saved_question_id}/reports"): Call(
        Access.EVERY_PARTNER,
        lambda t: {"json": {"cadence": "daily", "hour": 9, "channel": t.channel_id}},
        404,
    ),
    ("GET", "/api/reports"): Call(Access.EVERY_PARTNER),
    ("GET", "/api/reports/channels"): Call(Access.EVERY_PARTNER),
    ("PATCH", "/api/reports/{report_id}"): Call(
        Access.EVERY_PARTNER, lambda _: {"json": {"enabled": False}}, 404
    ),
    ("DELETE", "/api/reports/{report_id}"): Call(Access.EVERY_PARTNER, status=404),
    # The admin's alert pages: every form answers with a redirect.
    ("GET", "/admin/alerts"): Call(Access.ADMIN_PAGE),
    ("GET", "/api/forecast"): Call(Access.READER),
    ("POST", "/admin/alerts/{alert_id}/acknowledge"): Call(Access.ADMIN_PAGE, status=303),
    ("POST", "/admin/alerts/{alert_id}/resolve"): Call(Access.ADMIN_PAGE, status=303),
    ("GET", "/admin/alert-channels"): Call(Access.ADMIN_PAGE),
    ("POST", "/admin/alert-channels"): Call(
        Access.ADMIN_PAGE,
        lambda _: {"data": {"name": "n", "kind": "slack", "url": "http://127.0.0.1:9/h"}},
        303,
    ),
    ("POST", "/admin/alert-channels/{channel_id}/pause"): Call(Access.ADMIN_PAGE, status=303),
    ("POST", "/admin/alert-channels/{channel_id}/resume"): Call(Access.ADMIN_PAGE, status=303),
    ("POST", "/admin/alert-channels/{channel_id}/delete"): Call(Access.ADMIN_PAGE, status=303),
    ("POST", "/admin/alert-channels/{channel_id}/test"): Call(Access.ADMIN_PAGE, status=303),
    ("GET", "/api/rejections/{rejection_id}"): Call(Access.READER),
    ("POST", "/api/rejections/{rejection_id}/replay"): Call(
        Access.ADMIN, lambda _: {"json": {"fields": {"usd_payout": "1.00"}}}
    ),
    ("POST", "/api/rejections/replay"): Call(Access.ADMIN),
    ("GET", "/admin/rejections"): Call(Access.ADMIN_PAGE),
    ("POST", "/admin/rejections/{rejection_id}/replay"): Call(
        Access.ADMIN_PAGE, lambda _: {"data": {"field.usd_payout": "1.00"}}, 303
    ),
    ("POST", "/admin/rejections/replay"): Call(Access.ADMIN_PAGE, status=303),
    ("GET", "/api/audit"): Call(Access.ADMIN),
    ("GET", "/admin/audit"): Call(Access.ADMIN_PAGE),
    ("GET", "/admin"): Call(Access.ADMIN_PAGE),
    ("GET", "/admin/partners/new"): Call(Access.ADMIN_PAGE),
    ("POST", "/admin/partners/new"): Call(Access.ADMIN_PAGE, partner_form("form-new"), 303),
    ("GET", "/admin/partners/{tenant_id}"): Call(Access.ADMIN_PAGE),
    ("GET", "/admin/conversions"): Call(Access.ADMIN_PAGE, url="/admin/conversions?q=SEC"),
    ("GET", "/admin/conversions/{conversion_pk}"): Call(Access.ADMIN_PAGE),
    ("POST", "/admin/partners/{tenant_id}"): Call(Access.ADMIN_PAGE, partner_form("acme"), 303),
    ("POST", "/admin/partners/{tenant_id}/enable"): Call(Access.ADMIN_PAGE, status=303),
    ("POST", "/admin/partners/{tenant_id}/disable"): Call(Access.ADMIN_PAGE, status=303),
    ("POST", "/admin/partners/{tenant_id}/rotate"): Call(
        Access.ADMIN_PAGE, lambda _: {"data": {"kind": "tlm_token"}}, 303
    ),
    # A partner's forwards and delivery log in the admin: every form answers with a redirect.
    ("GET", "/admin/partners/{tenant_id}/forwards"): Call(Access.ADMIN_PAGE),
    ("POST", "/admin/partners/{tenant_id}/forwards"): Call(
        Access.ADMIN_PAGE,
        lambda _: {
            "data": {"url": "http://127.0.0.1:9/form", "method": "GET", "events": "created"}
        },
        303,
    ),
    ("GET", "/admin/partners/{tenant_id}/forwards/{forward_id}"): Call(Access.ADMIN_PAGE),
    ("POST", "/admin/partners/{tenant_id}/forwards/{forward_id}"): Call(
        Access.ADMIN_PAGE,
        lambda _: {"data": {"url": "http://127.0.0.1:9/x", "method": "POST", "events": "created"}},
        303,
    ),
    ("POST", "/admin/partners/{tenant_id}/forwards/{forward_id}/pause"): Call(
        Access.ADMIN_PAGE, status=303
    ),
    ("POST", "/admin/partners/{tenant_id}/forwards/{forward_id}/resume"): Call(
        Access.ADMIN_PAGE, status=303
    ),
    ("POST", "/admin/partners/{tenant_id}/forwards/{forward_id}/delete"): Call(
        Access.ADMIN_PAGE, status=303
    ),
    ("POST", "/admin/partners/{tenant_id}/forwards/{forward_id}/rotate-secret"): Call(
        Access.ADMIN_PAGE, status=303
    ),
    ("POST", "/admin/partners/{tenant_id}/forwards/{forward_id}/test"): Call(
        Access.ADMIN_PAGE, status=303
    ),
    ("POST", "/admin/partners/{tenant_id}/forwards/{forward_id}/resend"): Call(
        Access.ADMIN_PAGE, status=303
    ),
    ("GET", "/admin/partners/{tenant_id}/deliveries"): Call(Access.ADMIN_PAGE),
    ("GET", "/admin/partners/{tenant_id}/deliveries/{delivery_id}"): Call(Access.ADMIN_PAGE),
    ("POST", "/admin/partners/{tenant_id}/deliveries/{delivery_id}/resend"): Call(
        Access.ADMIN_PAGE, status=303
    ),
    ("POST", "/admin/logout"): Call(Access.ADMIN_PAGE, status=303, signs_out=True),
    # The admin's session carried over to /ask (a redirect there).
    ("GET", "/admin/ask"): Call(Access.ADMIN_PAGE, status=303),
    # The /ask page signs in with the admin token or a partner's key into a session of its
    # own; without that session and its CSRF token every form and question is refused
    # (who may ask what: tests/nlq/test_pages.py).
    ("GET", "/ask"): Call(Access.PUBLIC),
    ("POST", "/ask/login"): Call(Access.PUBLIC, status=403),
    ("POST", "/ask/logout"): Call(Access.PUBLIC, status=403),
    ("POST", "/ask/answer"): Call(
        Access.PUBLIC, lambda _: {"json": {"question": "sales by offer"}}, status=403
    ),
    # The dashboard page is its own sign-in page until a session opens it; its forms need
    # the session's CSRF token. Its data takes a session or a bearer token.
    ("GET", "/dashboard"): Call(Access.PUBLIC),
    # Likewise its conversion search and conversion pages (a session's own rows only:
    # tests/dashboard/test_conversions.py).
    ("GET", "/dashboard/conversions"): Call(Access.PUBLIC),
    ("GET", "/dashboard/conversions/{conversion_pk}"): Call(Access.PUBLIC),
    ("POST", "/dashboard/login"): Call(Access.PUBLIC, status=403),
    ("POST", "/dashboard/logout"): Call(Access.PUBLIC, status=403),
    ("GET", "/dashboard/api/kpis"): Call(Access.READER),
    ("GET", "/dashboard/api/series"): Call(Access.READER),
    ("GET", "/dashboard/api/status"): Call(Access.READER),
    ("GET", "/dashboard/api/currencies"): Call(Access.READER),
    ("GET", "/dashboard/api/offers"): Call(Access.READER),
    ("GET", "/dashboard/api/partners"): Call(Access.EVERY_PARTNER),
    ("GET", "/dashboard/api/feed"): Call(Access.READER, url="/dashboard/api/feed?once=true"),
    ("GET", "/dashboard/export/{table}.{fmt}"): Call(
        Access.READER, url="/dashboard/export/status.csv"
    ),
    # Users: an admin manages them; every personal account reads itself and sets its password.
    ("GET", "/api/users/me"): Call(Access.READER),
    ("POST", "/api/users/me/password"): Call(
        Access.USER,
        lambda _: {"json": {"current_password": USER_PASSWORD, "new_password": "n" * 12}},
    ),
    ("GET", "/api/users"): Call(Access.ADMIN),
    ("POST", "/api/users"): Call(
        Access.ADMIN, lambda _: {"json": {"email": "made@x.test", "role": "analyst"}}, 201
    ),
    ("GET", "/api/users/{user_id}"): Call(Access.ADMIN),
    ("PATCH", "/api/users/{user_id}"): Call(Access.ADMIN, lambda _: {"json": {"role": "admin"}}),
    ("POST", "/api/users/{user_id}/reset-password"): Call(Access.ADMIN),
    ("POST", "/api/users/{user_id}/revoke-sessions"): Call(Access.ADMIN),
    ("GET", "/admin/users"): Call(Access.ADMIN_PAGE),
    ("POST", "/admin/users"): Call(
        Access.ADMIN_PAGE, lambda _: {"data": {"email": "form@x.test", "role": "analyst"}}, 303
    ),
    ("GET", "/admin/users/{user_id}"): Call(Access.ADMIN_PAGE),
    ("POST", "/admin/users/{user_id}"): Call(
        Access.ADMIN_PAGE, lambda _: {"data": {"display_name": "Renamed"}}, 303
    ),
    ("POST", "/admin/users/{user_id}/disable"): Call(Access.ADMIN_PAGE, status=303),
    ("POST", "/admin/users/{user_id}/enable"): Call(Access.ADMIN_PAGE, status=303),
    ("POST", "/admin/users/{user_id}/reset-password"): Call(Access.ADMIN_PAGE, status=303),
    ("POST", "/admin/users/{user_id}/revoke-sessions"): Call(Access.ADMIN_PAGE, status=303),
}
PROTECTED = sorted(key for key, call in ROUTES.items() if call.access is not Access.PUBLIC)


def app_routes(app: PostbackApp) -> set[tuple[str, str]]:
    """Every (method, path) the app answers: FastAPI's routes and mounts, and the postback
    paths PostbackApp hands to its own endpoint before FastAPI sees the request."""
    found = {(method, path) for path in PATHS for method in ("GET", "POST")}
    for context in iter_route_contexts(app.api.routes):
        if isinstance(context.route, Mount):
            found.add(("GET", str(context.path)))
            continue
        found.update(
            (method, str(context.path)) for method in context.methods or () if method != "HEAD"
        )
    return found


def classification_problems(app: PostbackApp) -> list[str]:
    routes = app_routes(app)
    return [f"{m} {p}: say who may call it in ROUTES" for m, p in sorted(routes - set(ROUTES))] + [
        f"{m} {p}: in ROUTES but the app has no such route" for m, p in sorted(set(ROUTES) - routes)
    ]


def url_of(path: str, call: Call, target: Target) -> str:
    return (call.url or path).format(
        tenant_id=target.tenant_id,
        conversion_pk=target.conversion_pk,
        rejection_id=target.rejection_pk,
        forward_id=target.forward_id,
        delivery_id=target.delivery_id,
        user_id=target.user_id,
        alert_id=target.alert_pk,
        channel_id=target.channel_id,
        saved_question_id=target.saved_question_id,
        report_id=target.report_id,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    app: PostbackApp
    target: Target
    partner_key: str

    async def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("203.0.113.9", 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def send(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        *,
        signed_in: bool = False,
    ) -> httpx.Response:
        call = ROUTES[(method, path)]
        kwargs = call.send(self.target)
        if signed_in and call.access is not Access.ADMIN_PAGE and method != "GET":
            # A signed-in browser calling the API: its own CSRF token, so only who it is
            # decides.
            headers = {**(headers or {}), **await csrf_header(http)}
        if call.access is Access.ADMIN_PAGE and method == "POST":
            # The session's own CSRF token, so nothing but the credential decides.
            page = await http.get("/admin/login", follow_redirects=True)
            kwargs["data"] = {**kwargs.get("data", {}), "csrf_token": csrf_in(page.text)}
        return await http.request(
            method, url_of(path, call, self.target), headers=headers, **kwargs
        )


@pytest.fixture
async def world(app: PostbackApp, client: httpx.AsyncClient) -> World:
    created = await create_tenant(app, "acme", ts_token="tok-acme")
    sent = await client.get("/postback/", params=postback("SEC-0", ts_token="tok-acme"))
    assert sent.status_code == 200, sent.text
    tenant_id, conversion_pk = created.tenant.id, sent.json()["id"]
    # A paused POST forward (so nothing is sent), and one dead delivery of it to re-send.
    async with app.state.db.write_pool.acquire() as conn:
        forward_id = await conn.fetchval(
            "INSERT INTO forward (tenant_id, url, method, events, enabled)"
            " VALUES ($1, 'http://127.0.0.1:9/x', 'POST', '{created}', false) RETURNING id",
            tenant_id,
        )
        delivery_id = await conn.fetchval(
            "INSERT INTO delivery (forward_id, tenant_id, conversion_row_id, event, status, state)"
            " VALUES ($1, $2, $3, 'created', 'pending', 'dead') RETURNING id",
            forward_id,
            tenant_id,
            conversion_pk,
        )
    bad = await client.get(
        "/postback/", params=postback("SEC-R", ts_token="tok-acme", usd_payout="?")
    )
    assert bad.status_code == 422, bad.text
    rejection_pk = await app.state.db.write_pool.fetchval("SELECT max(id) FROM rejection")
    subject = await create_user(app, "subject@x.test", "analyst")
    await app.state.sign_in_throttle.reset()
    # An open alert of the partner, to acknowledge or resolve.
    alert_pk = await app.state.db.write_pool.fetchval(
        "INSERT INTO alert (tenant_id, kind, severity, started_at, last_seen_at, observed,"
        " message_en, message_zh) VALUES ($1, 'silence', 'warning', now(), now(), 0, 'x', 'x')"
        " RETURNING id",
        tenant_id,
    )
    # A paused alert channel (so nothing is sent but its test).
    channel_id = await app.state.db.write_pool.fetchval(
        "INSERT INTO alert_channel (name, kind, url, enabled)"
        " VALUES ('ops', 'slack', 'http://127.0.0.1:9/hook', false) RETURNING id"
    )
    # A saved question of an asker none of the callers is, and its report on that channel.
    saved_question_id = await app.state.db.write_pool.fetchval(
        "INSERT INTO saved_question (owner, title, question, language, plan)"
        " VALUES ('analyst::0', 'theirs', 'sales by offer', 'en', '{}') RETURNING id"
    )
    report_id = await app.state.db.write_pool.fetchval(
        "INSERT INTO report_schedule (saved_question_id, cadence, hour, channel_id, next_run_at)"
        " VALUES ($1, 'daily', 9, $2, now() + interval '1 day') RETURNING id",
        saved_question_id,
        channel_id,
    )
    target = Target(
        tenant_id,
        conversion_pk,
        rejection_pk,
        forward_id,
        delivery_id,
        subject,
        alert_pk,
        channel_id,
        saved_question_id,
        report_id,
    )
    return World(app, target, created.secrets["api_key"])


@pytest.fixture
async def anonymous(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A browser that opened the sign-in page (so it has a session and a CSRF token) but
    never signed in."""
    async with await world.client() as http:
        assert (await http.get("/admin/login")).status_code == 200
        yield http


def is_sign_in_redirect(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/admin/login")


class TestEveryRouteIsClassified:
    def test_the_table_matches_the_app(self, app):
        assert classification_problems(app) == []

    def test_a_new_route_fails_until_classified(self, settings):
        """Proof that the guard works: routes added later are reported."""
        app = create_app(settings)

        async def export() -> None:
            """A future export."""

        app.api.add_api_route("/api/export", export, methods=["GET", "POST"])
        assert classification_problems(app) == [
            "GET /api/export: say who may call it in ROUTES",
            "POST /api/export: say who may call it in ROUTES",
        ]


class TestWithoutCredentials:
    @pytest.mark.parametrize(("method", "path"), PROTECTED)
    async def test_refused(self, world, anonymous, method, path):
        call = ROUTES[(method, path)]
        response = await world.send(anonymous, method, path)
        if call.access is Access.ADMIN_PAGE:
            assert is_sign_in_redirect(response), (response.status_code, response.text[:200])
            assert "set-cookie" not in response.headers
        else:
            assert response.status_code == 401, response.text
            assert response.headers["www-authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        ("method", "path"), [k for k in PROTECTED if ROUTES[k].access is not Access.ADMIN_PAGE]
    )
    @pytest.mark.parametrize(
        "header", ["Bearer not-a-real-token", "Basic YWRtaW46YWRtaW4=", "Bearer ", ADMIN_TOKEN]
    )
    async def test_a_wrong_or_malformed_token(self, world, method, path, header):
        async with await world.client() as http:
            response = await world.send(http, method, path, {"Authorization": header})
        assert response.status_code == 401, response.text


class TestPartnerKey:
    @pytest.mark.parametrize(("method", "path"), PROTECTED)
    async def test_only_where_a_partner_may_read(self, world, method, path):
        access = ROUTES[(method, path)].access
        async with await world.client() as http:
            response = await world.send(http, method, path, bearer(world.partner_key))
        if access is Access.READER:
            assert response.status_code == ROUTES[(method, path)].status, response.text
        elif access in (Access.ADMIN, Access.EVERY_PARTNER, Access.USER):
            assert response.status_code == 403, response.text
            assert response.json()["errors"][0]["field"] == "authorization"
        else:
            assert is_sign_in_redirect(response)


class TestSignedInUsers:
    """Each role's browser session on every protected route: what the role may call answers
    as for the admin, anything else is refused (a 403 naming authorization; for an admin
    page, the way to its sign-in)."""

    @pytest.mark.parametrize("caller", list(Caller), ids=lambda c: c.value)
    @pytest.mark.parametrize(("method", "path"), PROTECTED)
    async def test_by_role(self, app, world, caller, method, path):
        call = ROUTES[(method, path)]
        email = f"{caller.value}@acme.test"
        partner = "acme" if caller is Caller.PARTNER_USER else None
        await create_user(app, email, caller.value, partner=partner, password=USER_PASSWORD)
        async with await world.client() as http:
            area = "admin" if caller is Caller.ADMIN_USER else "dashboard"
            signed = await user_sign_in(http, email, USER_PASSWORD, area=area)
            assert signed.status_code == 303, signed.text[:300]
            response = await world.send(http, method, path, signed_in=True)
        if call.access in ALLOWED[caller]:
            assert response.status_code == call.status, response.text[:300]
            assert call.signs_out or not is_sign_in_redirect(response)
        elif call.access is Access.ADMIN_PAGE:
            assert is_sign_in_redirect(response), (response.status_code, response.text[:200])
        else:
            assert response.status_code == 403, response.text
            assert response.json()["errors"][0]["field"] == "authorization"


class TestRightCredential:
    @pytest.mark.parametrize(
        ("method", "path"), [k for k in PROTECTED if ROUTES[k].access is not Access.USER]
    )
    async def test_accepted(self, world, method, path):
        call = ROUTES[(method, path)]
        async with await world.client() as http:
            if call.access is Access.ADMIN_PAGE:
                assert (await sign_in(http)).status_code == 303
                # The admin token as a bearer header does not open the pages: only the session.
                response = await world.send(http, method, path)
            else:
                response = await world.send(http, method, path, bearer(ADMIN_TOKEN))
            assert response.status_code == call.status, response.text[:300]
            if call.signs_out:
                assert "set-cookie" in response.headers
                assert is_sign_in_redirect(await http.get("/admin"))
            else:
                assert not is_sign_in_redirect(response)

    @pytest.mark.parametrize(
        ("method", "path"), [k for k in PROTECTED if ROUTES[k].access is Access.USER]
    )
    async def test_the_admin_token_is_no_personal_account(self, world, method, path):
        async with await world.client() as http:
            response = await world.send(http, method, path, bearer(ADMIN_TOKEN))
        assert response.status_code == 403, response.text

    async def test_admin_pages_ignore_a_bearer_token(self, world):
        async with await world.client() as http:
            response = await http.get("/admin", headers=bearer(ADMIN_TOKEN))
        assert is_sign_in_redirect(response)

    @pytest.mark.parametrize(
        ("method", "path"), sorted(k for k, c in ROUTES.items() if c.access is Access.PUBLIC)
    )
    async def test_public_routes_need_nothing(self, world, method, path):
        call = ROUTES[(method, path)]
        async with await world.client() as http:
            if method == "POST" and path == "/admin/login":
                response = await http.post("/admin/login", data={"token": ADMIN_TOKEN})
            else:
                response = await world.send(http, method, path)
        assert response.status_code == call.status, response.text[:300]


class TestSecretsAtRest:
    async def test_only_digests_in_the_tenant_table(self, client, db, admin_headers):
        chosen = {"ts_token": "chosen-ts-token-1", "ts_param": "chosen-ts-param-2"}
        created = await client.post(
            "/api/tenants",
            json={"name": "Hashed", "slug": "hashed", **chosen, "tlm_token": "chosen-tlm-3"},
            headers=admin_headers,
        )
        assert created.status_code == 201, created.text
        tenant_id = created.json()["id"]
        secrets = dict(created.json()["secrets"])
        assert set(secrets) == {"ts_token", "ts_param", "tlm_token", "api_key"}
        rotated = await client.post(
            f"/api/tenants/{tenant_id}/rotate", json={"kind": "api_key"}, headers=admin_headers
        )
        old_key, secrets["api_key"] = secrets["api_key"], rotated.json()["secret"]
        sent = await client.get("/postback/", params=postback("H-1", ts_token="chosen-ts-token-1"))
        assert sent.json()["tenant"] == "hashed"

        dump = "\n".join(
            [
                await db.fetchval("SELECT json_agg(t)::text FROM tenant t"),
                await db.fetchval("SELECT json_agg(c)::text FROM conversion c"),
            ]
        )
        for kind, secret in secrets.items():
            assert secret not in dump, f"{kind} stored in clear"
        assert old_key not in dump
        row = await db.fetchrow("SELECT * FROM tenant WHERE id = $1", tenant_id)
        for kind, secret in secrets.items():
            assert row[f"{kind}_hash"] == hash_secret(secret)


class TestConstantTimeComparison:
    def test_secrets_equal_is_hmac_compare_digest(self, monkeypatch):
        from postback import security

        calls = []

        def spy(a: bytes, b: bytes) -> bool:
            calls.append((a, b))
            return a == b

        monkeypatch.setattr(security.hmac, "compare_digest", spy)
        assert security.secrets_equal("abc", "abc")
        assert not security.secrets_equal("abc", "abd")
        assert calls == [(b"abc", b"abc"), (b"abc", b"abd")]

    async def test_the_admin_token_goes_through_it(self, world, client, monkeypatch):
        from postback import auth, security

        compared: list[tuple[str, str]] = []

        def spy(given: str, expected: str) -> bool:
            compared.append((given, expected))
            return security.secrets_equal(given, expected)

        monkeypatch.setattr(auth, "secrets_equal", spy)
        await client.get("/postback/stats", headers=bearer("guess"))
        assert ("guess", ADMIN_TOKEN) in compared
        async with await world.client() as http:
            await sign_in(http, token="guess-too")
        assert ("guess-too", ADMIN_TOKEN) in compared

    def test_no_secret_compared_with_equals(self):
        """A light static check: no `==` on a token, key or CSRF value in the package (a
        digest looked up in SQL, `x_hash == …`, is an index lookup, not a comparison here)."""
        words = ("token", "api_key", "csrf", "secret", "password")
        found = []
        for source in (ROOT / "postback").rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text())):
                if not isinstance(node, ast.Compare):
                    continue
                if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                    continue
                operands = [node.left, *node.comparators]
                if any(isinstance(o, ast.Constant) for o in operands):
                    continue  # comparing with a literal: a kind or a name, not a secret
                text = ast.unparse(node)
                if any(w in text.lower() for w in words) and "_hash ==" not in text:
                    found.append(f"{source.relative_to(ROOT)}:{node.lineno}: {text}")
        assert found == []


class TestCors:
    ORIGIN = "https://dash.example.com"

    async def test_off_by_default(self, client, admin_headers):
        headers = {"Origin": self.ORIGIN, **admin_headers}
        response = await client.get("/postback/stats", headers=headers)
        assert response.status_code == 200
        preflight = await client.options(
            "/postback/stats",
            headers={
                "Origin": self.ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        for answer in (response, preflight):
            assert not [h for h in answer.headers if h.lower().startswith("access-control-")]

    @pytest.fixture
    async def cors_client(self, database_url, tmp_path) -> AsyncIterator[httpx.AsyncClient]:
        """An app with POSTBACK_CORS_ORIGINS set (no lifespan: CORS answers before any route)."""
        settings = make_settings(
            database_url, tmp_path, POSTBACK_CORS_ORIGINS=f" {self.ORIGIN}, http://localhost:3000"
        )
        assert settings.cors_origin_list == [self.ORIGIN, "http://localhost:3000"]
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http

    async def test_on_for_the_configured_origins(self, cors_client):
        preflight = await cors_client.options(
            "/postback/stats",
            headers={
                "Origin": self.ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == self.ORIGIN
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in preflight.headers
        simple = await cors_client.get("/openapi.json", headers={"Origin": self.ORIGIN})
        assert simple.headers["access-control-allow-origin"] == self.ORIGIN

    async def test_other_origins_get_nothing(self, cors_client):
        response = await cors_client.get(
            "/openapi.json", headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in response.headers
        preflight = await cors_client.options(
            "/postback/stats",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 400
        assert "access-control-allow-origin" not in preflight.headers

    @pytest.mark.parametrize(
        "value", ["https://dash.example.com/", "dash.example.com", "https://a.example/path"]
    )
    def test_refuses_what_is_not_an_origin(self, database_url, tmp_path, value):
        from pydantic import ValidationError

        with pytest.raises(ValidationError, match="POSTBACK_CORS_ORIGINS"):
            make_settings(database_url, tmp_path, POSTBACK_CORS_ORIGINS=value)


def test_token_digests_match_the_stored_digest_and_the_cache_keeps_only_short_tokens():
    from postback import security

    short, long = "partner-token-123", "x" * 10_000
    before = security._cached_digest.cache_info().currsize
    assert security.token_digest(short) == security.hash_secret(short)
    assert security.token_digest(long) == security.hash_secret(long)
    assert security.fingerprint(short) == "sha256:" + security.hash_secret(short)[:12]
    assert security._cached_digest.cache_info().currsize <= before + 1  # the short one only
