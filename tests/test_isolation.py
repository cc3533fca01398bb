"""Partner A's API key, and A's personal user signed in with a browser session, never show a
row, count or sum of partner B.

The walk covers every GET route the app has, found from the app itself: each read route that
needs a token is called with A's key, with B's ids and slug wherever a path or query
parameter takes one. It runs twice, with B's data in the database and after B's data is
deleted: every answer A gets must be identical (so no count or sum of B's moved it), and
none may contain any of B's values. A GET route this test does not know how to call makes
it fail, so a new read route cannot escape the walk."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi.routing import iter_route_contexts

from postback.app import PostbackApp, create_app
from postback.auth import partner_principal
from postback.nlq.service import owner_of
from tests.accounts.helpers import sign_in as user_sign_in
from tests.factories import create_tenant, create_user, postback


@dataclass(frozen=True)
class Partner:
    slug: str
    tenant_id: int
    headers: dict[str, str]
    conversion_pks: list[int]
    rejection_pks: list[int]
    forward_ids: tuple[int, ...] = ()
    delivery_ids: tuple[int, ...] = ()


# Routes anyone may read without a token: called with A's key too, and checked for B's values.
# The admin sign-in page is open (it carries a fresh CSRF token, so no two answers are equal).
PUBLIC = {
    "/",
    "/favicon.ico",
    "/docs",
    "/redoc",
    "/health",
    "/health/live",
    "/info",
    "/metrics",
    "/openapi.json",
    "/admin/login",
    # The /ask page: its sign-in form until its own session says who asks (tests/nlq).
    "/ask",
    # Google sign-in's start and return (off in this app; the flow: tests/accounts/test_oidc.py).
    "/auth/oidc/start",
    "/auth/oidc/callback",
}

# How to call each read route that needs a token: the query strings to try, B's slug wherever
# a filter names a partner. Add a new read route here (the walk fails until it is).
READ_CALLS: dict[str, Callable[[Partner], list[dict[str, Any]]]] = {
    "/postback/conversions": lambda b: [
        {},
        {"page_size": 1000},
        {"tenant": b.slug},
        {"tenant": b.slug, "duplicates": "only"},
        {"offer_id": "BRAVO-OFFER-77"},
        {"status": "approved"},
        {"duplicates": "only"},
        # Searches for B's identifiers and amounts: A's key finds none of them.
        {"conversion_id": "BRAVO-CONV-1"},
        {"order_id": "BRAVO-ORDER-1"},
        {"aff_sub": "bravo-campaign", "tenant": b.slug},
        {"q": "BRAVO"},
        {"q": "bravo-camp", "page_size": 1000},
        {"min_sale": "100000", "max_payout": "5000"},
    ],
    "/postback/conversions/{conversion_pk}": lambda b: [{}, {"tenant": b.slug}],
    "/postback/conversions/{conversion_pk}/history": lambda b: [{}],
    "/postback/stats": lambda b: [{}, {"hours": 48}, {"tenant": b.slug}],
    "/api/tenants": lambda b: [{}],
    "/api/tenants/{tenant_id}": lambda b: [{}],
    "/api/tenants/{tenant_id}/postback-url": lambda b: [{}],
    "/api/tenants/{tenant_id}/forwards": lambda b: [{}],
    "/api/tenants/{tenant_id}/forwards/{forward_id}": lambda b: [{}],
    "/api/tenants/{tenant_id}/deliveries": lambda b: [
        {},
        {"attempts": "true"},
        {"conversion_id": "BRAVO-CONV-1"},
        {"state": "dead"},
    ],
    "/api/tenants/{tenant_id}/deliveries/{delivery_id}": lambda b: [{}],
    "/api/rejections": lambda b: [
        {},
        {"page_size": 1000},
        {"tenant": b.slug},
        {"reason": "invalid"},
        {"reason": "conflicting", "tenant": b.slug},
        {"replayed": "false"},
    ],
    "/api/rejections/{rejection_id}": lambda b: [{}],
    # Users: an admin's; a partner's key or user gets 403 (and /me only itself).
    "/api/users/me": lambda b: [{}],
    "/api/users": lambda b: [{}],
    "/api/users/{user_id}": lambda b: [{}],
    "/admin/users": lambda b: [{}],
    "/admin/users/{user_id}": lambda b: [{}],
    "/api/alerts": lambda b: [
        {},
        {"tenant": b.slug},
        {"state": "open"},
        {"tenant": b.slug, "state": "open", "lang": "zh"},
    ],
    "/admin/rejections": lambda b: [{}],
    # Alert channels: the admin's alone (a partner's key is refused).
    "/api/alert-channels": lambda b: [{}],
    "/api/alert-channels/{channel_id}": lambda b: [{}],
    "/api/alert-channels/{channel_id}/notifications": lambda b: [{}],
    "/admin/alerts": lambda b: [{}, {"tenant": b.slug}, {"state": "open"}],
    # Forecasts: a partner's own only, whatever partner it names.
    "/api/forecast": lambda b: [{}, {"tenant": b.slug}, {"tenant": b.slug, "days": 14}],
    "/admin/alert-channels": lambda b: [{}],
    # Saved questions: the asker's own only (B's tile never shows); reports: staff only.
    "/api/saved-questions": lambda b: [{}],
    "/api/reports": lambda b: [{}],
    "/api/reports/channels": lambda b: [{}],
    # The audit log: the admin token only (a partner's key is refused, its own entries too).
    "/api/audit": lambda b: [{}, {"tenant": b.slug}, {"action": "tenant."}, {"limit": 500}],
    "/admin/audit": lambda b: [{}, {"tenant": b.slug}],
    # Admin pages need the admin's session cookie: a partner's key only gets the sign-in page.
    "/admin": lambda b: [{}],
    "/admin/partners/new": lambda b: [{}],
    "/admin/partners/{tenant_id}": lambda b: [{}],
    "/admin/partners/{tenant_id}/forwards": lambda b: [{}],
    "/admin/partners/{tenant_id}/forwards/{forward_id}": lambda b: [{}],
    "/admin/partners/{tenant_id}/deliveries": lambda b: [
        {},
        {"state": "dead"},
        {"conversion_id": "BRAVO-CONV-1"},
    ],
    "/admin/partners/{tenant_id}/deliveries/{delivery_id}": lambda b: [{}],
    "/admin/conversions": lambda b: [{"q": "BRAVO"}, {"tenant": b.slug, "q": "bravo"}],
    "/admin/conversions/{conversion_pk}": lambda b: [{}],
    # The admin's session carried over to /ask: a partner's key only gets the sign-in page.
    "/admin/ask": lambda b: [{}],
    # The dashboard page reads sessions, not bearer tokens: a key only gets its sign-in page.
    "/dashboard": lambda b: [{}],
    # Likewise its search and conversion pages (a partner's session: tests/dashboard).
    "/dashboard/conversions": lambda b: [{"q": "BRAVO"}, {"tenant": b.slug, "q": "bravo"}],
    "/dashboard/conversions/{conversion_pk}": lambda b: [{}],
    **{
        f"/dashboard/api/{name}": lambda b: [
            {"range": "30d"},
            {"range": "30d", "tenant": b.slug},
            {"range": "custom", "since": "2026-11-01", "until": "2026-11-30", "tenant": b.slug},
        ]
        for name in ("kpis", "series", "status", "currencies", "offers", "partners")
    },
    "/dashboard/export/{table}.{fmt}": lambda b: [{"range": "30d"}, {"tenant": b.slug}],
    "/dashboard/api/feed": lambda b: [{"once": "true"}, {"once": "true", "tenant": b.slug}],
}

# What a path parameter is filled with: B's own ids.
PATH_VALUES: dict[str, Callable[[Partner], list[int | str]]] = {
    "conversion_pk": lambda b: list(b.conversion_pks),
    "rejection_id": lambda b: list(b.rejection_pks),
    "tenant_id": lambda b: [b.tenant_id],
    "forward_id": lambda b: list(b.forward_ids) or [1],
    "delivery_id": lambda b: list(b.delivery_ids) or [1],
    "user_id": lambda b: [1],
    "channel_id": lambda b: [1],
    "slug": lambda b: [b.slug],
    "table": lambda b: ["kpis", "series", "status", "currencies", "offers", "partners"],
    "fmt": lambda b: ["csv"],
}

# Query parameters that name a partner: every route taking one must be called with B's.
PARTNER_QUERY_PARAMS = {"tenant", "tenant_id", "slug", "partner"}

# B's values that must never reach A: ids, names, amounts as the API writes them, and sums.
BRAVO_ROW_VALUES = (
    "BRAVO-CONV-1",
    "BRAVO-CONV-2",
    "BRAVO-OFFER-77",
    "Bravo Secret Offer",
    "BRAVO-ORDER",
    "bravo-campaign",
    "bravo-tracker.example",  # B's forward
    "424242.42",
    "131313.13",
    "555555.55",  # B's sales, summed
    "4242.42",
    "1313.13",
    "5555.55",  # B's payouts, summed
    # B's rejections: a bad field, a conflicting repeat, a body too large (filed under B by
    # the token in its query).
    "BRAVO-REJECT-1",
    "BRAVO-REJECT-2",
    "BRAVO-BIG-BODY",
    # B's alert (an anomaly scan's finding on B's traffic).
    "BRAVO-ALERT-OFFER",
    "Bravo silent",
)
# B's saved question (a dashboard tile): B's own, so only B's walk shows it, not the admin's.
BRAVO_OWN_VALUES = ("BRAVO-TILE",)
BRAVO_VALUES = BRAVO_ROW_VALUES + BRAVO_OWN_VALUES


def get_routes(app: PostbackApp) -> list[Any]:
    return [
        route
        for route in iter_route_contexts(app.api.routes)
        if "GET" in (route.methods or ()) and route.path is not None
    ]


def needs_token(route: Any) -> bool:
    """Whether the route resolves who is asking (the admin token or a partner's key)."""
    from postback.auth import get_principal

    pending = [getattr(route, "dependant", None)]
    while pending:
        dependant = pending.pop()
        if dependant is None:
            continue
        if dependant.call is get_principal:
            return True
        pending.extend(dependant.dependencies)
    return False


def path_params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)", path)


def query_params(route: Any) -> set[str]:
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return set()
    found: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        found.update(param.name for param in current.query_params)
        pending.extend(current.dependencies)
    return found


def urls(path: str, bravo: Partner) -> list[str]:
    """The path with every combination of B's values for its parameters."""
    filled = [path]
    for name in path_params(path):
        values = PATH_VALUES[name](bravo)
        filled = [url.replace(f"{{{name}}}", str(v)) for url in filled for v in values]
    return filled


def comparable(response: httpx.Response) -> Any:
    """The answer with the window bounds taken out (they follow the clock, not the data)."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    if isinstance(body, dict):
        body = {
            k: v for k, v in body.items() if k not in ("since", "until", "range", "generated_at")
        }
    return body


async def walk(
    app: PostbackApp, client: httpx.AsyncClient, headers: dict[str, str], bravo: Partner
) -> dict[str, tuple[int, Any]]:
    """Every GET route called with these headers: {request: (status, answer)}."""
    answers: dict[str, tuple[int, Any]] = {}
    for route in get_routes(app):
        path = str(route.path)
        if path in PUBLIC:
            calls: list[dict[str, Any]] = [{}]
        else:
            assert path in READ_CALLS, f"{path}: add how to call it to READ_CALLS"
            calls = READ_CALLS[path](bravo)
        for url in urls(path, bravo):
            for params in calls:
                response = await client.get(url, params=params, headers=headers)
                assert response.status_code < 500, (url, params, response.text)
                key = f"{url}?{json.dumps(params, sort_keys=True)}"
                answers[key] = (response.status_code, response)
    return answers


@pytest.fixture
async def partners(app, db: asyncpg.Connection, client) -> tuple[Partner, Partner]:
    alpha = await create_tenant(app, "alpha", ts_token="tok-alpha")
    bravo = await create_tenant(app, "bravo", ts_token="tok-bravo")
    recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")

    async def send(token: str, conversion_id: str, **fields: Any) -> int:
        params = postback(conversion_id, ts_token=token, datetime_conversion=recent, **fields)
        response = await client.get("/postback/", params=params)
        assert response.status_code == 200, response.text
        row_id: int = response.json()["id"]
        return row_id

    alpha_pks = [
        await send("tok-alpha", "ALPHA-CONV-1", usd_sale_amount="10.00", status="approved"),
        await send("tok-alpha", "ALPHA-CONV-2", usd_sale_amount="20.00", status="pending"),
    ]
    bravo_fields = {
        "offer_id": "BRAVO-OFFER-77",
        "offer_name": "Bravo Secret Offer",
        "aff_sub": "bravo-campaign",
    }
    bravo_pks = [
        await send(
            "tok-bravo",
            "BRAVO-CONV-1",
            order_id="BRAVO-ORDER-1",
            usd_sale_amount="424242.42",
            myr_sale_amount="424242.42",
            usd_payout="4242.42",
            myr_payout="4242.42",
            status="approved",
            **bravo_fields,
        ),
        await send(
            "tok-bravo",
            "BRAVO-CONV-2",
            order_id="BRAVO-ORDER-2",
            usd_sale_amount="131313.13",
            myr_sale_amount="131313.13",
            usd_payout="1313.13",
            myr_payout="1313.13",
            status="approved",
            **bravo_fields,
        ),
        # The same conversion again: a duplicate row of B's.
        await send("tok-bravo", "BRAVO-CONV-1", order_id="BRAVO-ORDER-1", **bravo_fields),
    ]
    for token, conversion_id in (("tok-alpha", "ALPHA-REJECT-1"), ("tok-bravo", "BRAVO-REJECT-1")):
        bad = await client.get(
            "/postback/",
            params={"conversion_id": conversion_id, "ts_token": token, "usd_payout": "lots"},
        )
        assert bad.status_code == 422
    conflicting = await client.get(
        "/postback/?conversion_id=BRAVO-REJECT-2&ts_token=tok-bravo&aff_sub=x&aff_sub=y"
    )
    assert conflicting.status_code == 422
    too_large = await client.post(
        "/postback/?ts_token=tok-bravo",
        content=b"conversion_id=BRAVO-BIG-BODY&pad=" + b"b" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert too_large.status_code == 413
    rejections = {
        tenant_id: [row["id"] for row in rows]
        for tenant_id, rows in [
            (t, await db.fetch("SELECT id FROM rejection WHERE tenant_id = $1 ORDER BY id", t))
            for t in (alpha.tenant.id, bravo.tenant.id)
        ]
    }
    assert (len(rejections[alpha.tenant.id]), len(rejections[bravo.tenant.id])) == (1, 3)

    def bearer(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    # B's forward (paused, so nothing is sent) and a dead delivery of B's first conversion.
    forward_id = await db.fetchval(
        "INSERT INTO forward (tenant_id, url, events, enabled)"
        " VALUES ($1, 'https://bravo-tracker.example/pb?c={conversion_id}', '{created}', false)"
        " RETURNING id",
        bravo.tenant.id,
    )
    delivery_id = await db.fetchval(
        "INSERT INTO delivery (forward_id, tenant_id, conversion_row_id, event, status, state,"
        " last_error) VALUES ($1, $2, $3, 'created', 'approved', 'dead', 'bravo-tracker.example')"
        " RETURNING id",
        forward_id,
        bravo.tenant.id,
        bravo_pks[0],
    )
    # B's alert, as a scan would have kept it.
    await db.execute(
        "INSERT INTO alert (tenant_id, offer_id, kind, severity, started_at, last_seen_at,"
        " observed, expected, message_en, message_zh)"
        " VALUES ($1, 'BRAVO-ALERT-OFFER', 'silence', 'critical', now(), now(), 0, 40,"
        " 'Bravo silent for 3 hours', 'Bravo silent 已 3 小时没有回传')",
        bravo.tenant.id,
    )
    # B's saved question, as `POST /api/saved-questions` keeps it for B's API key.
    await db.execute(
        "INSERT INTO saved_question (owner, tenant_id, title, question, language, plan)"
        " VALUES ($1, $2, 'BRAVO-TILE', 'payout by offer', 'en', '{}')",
        owner_of(partner_principal(bravo.tenant.id)),
        bravo.tenant.id,
    )
    return (
        Partner(
            "alpha",
            alpha.tenant.id,
            bearer(alpha.secrets["api_key"]),
            alpha_pks,
            rejections[alpha.tenant.id],
        ),
        Partner(
            "bravo",
            bravo.tenant.id,
            bearer(bravo.secrets["api_key"]),
            bravo_pks,
            rejections[bravo.tenant.id],
            (forward_id,),
            (delivery_id,),
        ),
    )


def coverage_problems(
    app: PostbackApp, calls: dict[str, Callable[[Partner], list[dict[str, Any]]]] = READ_CALLS
) -> list[str]:
    """Every GET route the walk would not know how to call, or would call without B's slug."""
    problems = []
    bravo = Partner("bravo", 2, {}, [1], [1])
    for route in get_routes(app):
        path = str(route.path)
        if path in PUBLIC:
            if needs_token(route):
                problems.append(f"{path} needs a token: move it from PUBLIC to READ_CALLS")
            continue
        if path not in calls:
            problems.append(f"new read route {path}: add how to call it to READ_CALLS")
            continue
        problems.extend(
            f"{path}: add B's values for {{{name}}} to PATH_VALUES"
            for name in path_params(path)
            if name not in PATH_VALUES
        )
        problems.extend(
            f"{path}: call it with ?{name}= naming partner B in READ_CALLS"
            for name in query_params(route) & PARTNER_QUERY_PARAMS
            if not any(name in params for params in calls[path](bravo))
        )
    return problems


class TestTheWalkCoversEveryRoute:
    def test_every_get_route_is_known(self, app):
        assert coverage_problems(app) == []

    def test_no_stale_entries(self, app):
        paths = {str(route.path) for route in get_routes(app)}
        assert set(READ_CALLS) <= paths
        assert paths >= PUBLIC

    def test_a_new_read_route_fails_the_walk(self, settings):
        """Proof that the guard above works: a read route added later is reported."""
        from postback.auth import Auth
        from postback.deps import Session

        app = create_app(settings)

        async def offers_report(
            principal: Auth, session: Session, tenant: str | None = None
        ) -> None:
            """A future report."""

        async def tenant_report(tenant_id: int, principal: Auth) -> None:
            """A future report on one tenant."""

        app.api.add_api_route("/postback/offers", offers_report, methods=["GET"])
        app.api.add_api_route("/api/reports/{tenant_id}", tenant_report, methods=["GET"])
        assert coverage_problems(app) == [
            "new read route /postback/offers: add how to call it to READ_CALLS",
            "new read route /api/reports/{tenant_id}: add how to call it to READ_CALLS",
        ]

        known = READ_CALLS | {"/postback/offers": lambda b: [{}]}
        assert coverage_problems(app, known) == [
            "/postback/offers: call it with ?tenant= naming partner B in READ_CALLS",
            "new read route /api/reports/{tenant_id}: add how to call it to READ_CALLS",
        ]


class TestPartnerASeesNothingOfB:
    async def test_no_value_of_b_shows(self, app, client, partners):
        alpha, bravo = partners
        answers = await walk(app, client, alpha.headers, bravo)
        assert len(answers) >= 20
        for key, (_, response) in answers.items():
            for value in BRAVO_VALUES:
                assert value not in response.text, f"{key} shows B's {value!r} to A"

    async def test_no_count_or_sum_of_b_moves_an_answer(self, app, client, db, partners):
        alpha, bravo = partners
        with_b = await walk(app, client, alpha.headers, bravo)
        await db.execute("DELETE FROM conversion WHERE tenant_id = $1", bravo.tenant_id)
        await db.execute("DELETE FROM rejection WHERE tenant_id = $1", bravo.tenant_id)
        await db.execute("DELETE FROM forward WHERE tenant_id = $1", bravo.tenant_id)
        await db.execute("DELETE FROM alert WHERE tenant_id = $1", bravo.tenant_id)
        without_b = await walk(app, client, alpha.headers, bravo)

        assert set(with_b) == set(without_b)
        compared = 0
        for key, (status, response) in with_b.items():
            if key.split("?")[0] in PUBLIC:
                continue  # service-wide pages (uptime, metrics), not partner data
            other_status, other = without_b[key]
            assert (status, comparable(response)) == (other_status, comparable(other)), key
            compared += 1
        assert compared >= 15

    async def test_a_still_sees_its_own_data(self, client, partners):
        """The walk means something: A's key works and reads A's rows and sums."""
        alpha, _ = partners
        listed = await client.get("/postback/conversions", headers=alpha.headers)
        assert [i["conversion_id"] for i in listed.json()["items"]] == [
            "ALPHA-CONV-2",
            "ALPHA-CONV-1",
        ]
        stats = (await client.get("/postback/stats", headers=alpha.headers)).json()
        assert stats["totals"]["conversions"] == 2
        assert stats["totals"]["sales_usd"] == "30.00"
        assert stats["totals"]["rejections"] == 1
        own_rejections = await client.get("/api/rejections", headers=alpha.headers)
        assert [i["conversion_id"] for i in own_rejections.json()["items"]] == ["ALPHA-REJECT-1"]
        own = await client.get(
            f"/postback/conversions/{alpha.conversion_pks[0]}", headers=alpha.headers
        )
        assert own.json()["conversion_id"] == "ALPHA-CONV-1"

    async def test_the_admin_sees_b(self, app, client, admin_headers, partners):
        """B's values are written exactly as searched for: the admin's walk finds every one."""
        _, bravo = partners
        answers = await walk(app, client, admin_headers, bravo)
        everything = "".join(response.text for _, response in answers.values())
        for value in BRAVO_ROW_VALUES:
            assert value in everything, f"no answer shows {value!r}, so A's walk proves nothing"

    async def test_b_sees_its_own(self, app, client, partners):
        """What only B may read: B's walk finds it, so A's walk not finding it proves something."""
        _, bravo = partners
        answers = await walk(app, client, bravo.headers, bravo)
        everything = "".join(response.text for _, response in answers.values())
        for value in BRAVO_OWN_VALUES:
            assert value in everything, f"no answer shows {value!r}, so A's walk proves nothing"


class TestPartnerUserSeesNothingOfB:
    """The same walk with A's personal user signed in (a browser session, no token): a
    partner's user is held to exactly what its partner's key may see."""

    @pytest.fixture
    async def alpha_user(self, app, partners) -> AsyncIterator[httpx.AsyncClient]:
        await app.state.sign_in_throttle.reset()
        await create_user(app, "user@alpha.test", "partner", partner="alpha", password="a" * 12)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            signed = await user_sign_in(http, "user@alpha.test", "a" * 12)
            assert signed.status_code == 303, signed.text
            yield http

    async def test_no_value_of_b_shows(self, app, alpha_user, partners):
        _, bravo = partners
        answers = await walk(app, alpha_user, {}, bravo)
        assert len(answers) >= 20
        for key, (_, response) in answers.items():
            for value in BRAVO_VALUES:
                assert value not in response.text, f"{key} shows B's {value!r} to A's user"

    async def test_no_count_or_sum_of_b_moves_an_answer(self, app, alpha_user, db, partners):
        _, bravo = partners
        with_b = await walk(app, alpha_user, {}, bravo)
        await db.execute("DELETE FROM conversion WHERE tenant_id = $1", bravo.tenant_id)
        await db.execute("DELETE FROM rejection WHERE tenant_id = $1", bravo.tenant_id)
        await db.execute("DELETE FROM forward WHERE tenant_id = $1", bravo.tenant_id)
        without_b = await walk(app, alpha_user, {}, bravo)
        assert set(with_b) == set(without_b)
        compared = 0
        for key, (status, response) in with_b.items():
            if key.split("?")[0] in PUBLIC:
                continue
            other_status, other = without_b[key]
            assert (status, comparable(response)) == (other_status, comparable(other)), key
            compared += 1
        assert compared >= 15

    async def test_the_user_reads_as_its_partners_key(self, alpha_user, client, partners):
        """The walk means something: the session opens A's own data, as A's key does."""
        alpha, _ = partners
        for url in ("/postback/conversions", "/api/rejections", "/dashboard/api/status?range=30d"):
            as_user = await alpha_user.get(url)
            as_key = await client.get(url, headers=alpha.headers)
            assert as_user.status_code == as_key.status_code == 200, url
            assert comparable(as_user) == comparable(as_key), url
        page = await alpha_user.get("/dashboard")
        assert 'id="kpis"' in page.text
