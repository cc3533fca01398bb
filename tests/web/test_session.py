"""One browser session for /admin, /dashboard and /ask: signing in at one opens the others the
principal may use, signing out at one signs out of all."""

from __future__ import annotations

import re

import httpx

from postback.web import session
from tests.admin.conftest import sign_in as admin_sign_in
from tests.factories import create_tenant

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def partner_sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    page = await client.get("/dashboard")
    found = CSRF.search(page.text)
    assert found, page.text
    return await client.post("/dashboard/login", data={"csrf_token": found[1], "api_key": key})


async def test_a_partner_signed_in_at_the_dashboard_asks_as_itself(app, client):
    created = await create_tenant(app, "acme", name="Acme Media")
    signed = await partner_sign_in(client, created.secrets["api_key"])
    assert signed.status_code == 303
    assert signed.headers["set-cookie"].startswith(session.COOKIE + "=")
    ask = await client.get("/ask?lang=en")
    assert "Partner: Acme Media" in ask.text
    # The admin pages still need the admin.
    admin = await client.get("/admin")
    assert admin.status_code == 303
    assert admin.headers["location"].startswith("/admin/login")
    assert (await client.get("/admin/ask")).headers["location"].startswith("/admin/login")
    # Signing out of /ask signs out of the dashboard too.
    csrf = CSRF_META.search(ask.text)
    assert csrf
    assert (await client.post("/ask/logout", data={"csrf_token": csrf[1]})).status_code == 303
    assert 'action="/dashboard/login"' in (await client.get("/dashboard")).text


async def test_the_admin_signed_in_at_the_admin_asks_at_once(client, db):
    assert (await admin_sign_in(client)).status_code == 303
    assert "Admin: all partners" in (await client.get("/ask?lang=en")).text
    assert 'id="tenant"' in (await client.get("/dashboard")).text


async def test_the_admin_login_page_keeps_a_partners_session(app, client):
    created = await create_tenant(app, "acme", name="Acme Media")
    assert (await partner_sign_in(client, created.secrets["api_key"])).status_code == 303
    login = await client.get("/admin/login")
    assert login.status_code == 200
    assert 'action="/admin/logout"' not in login.text  # no admin to sign out
    assert 'id="kpis"' in (await client.get("/dashboard")).text
    # The admin token there replaces the partner's session with the admin's.
    assert (await admin_sign_in(client)).status_code == 303
    assert 'id="tenant"' in (await client.get("/dashboard")).text


async def test_a_forged_cookie_is_ignored(client, db):
    client.cookies.set(session.COOKIE, '{"csrf":"x","in":true,"tenant":null}')
    assert (await client.get("/admin")).status_code == 303
    assert CSRF_META.search((await client.get("/ask")).text) is None
