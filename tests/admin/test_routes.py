"""The admin pages over HTTP: signing in (throttled), sessions, CSRF, and managing partners
through forms, in both languages, with everything a sender controls escaped."""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from postback.admin.labels import LABELS
from postback.security import hash_secret
from postback.web import labels as i18n
from postback.web import session
from postback.web.throttle import MAX_FAILURES, SignInThrottle
from tests.admin.conftest import csrf_in, csrf_of, sign_in
from tests.factories import create_tenant, fill_macros, postback
from tests.fixtures import ADMIN_TOKEN

SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:300])
    return response.headers["location"]


def now_text(hours_ago: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(timespec="seconds")


async def create_partner(
    client: httpx.AsyncClient, **fields: str
) -> tuple[httpx.Response, dict[str, str]]:
    """The form posted; a created partner's page as the browser gets it after the redirect."""
    data = {"name": "Acme MY", "slug": "acme", "retention_days": "7", "dedup_enabled": "on"}
    data.update(fields)
    data["csrf_token"] = await csrf_of(client, "/admin/partners/new")
    response = await client.post("/admin/partners/new", data=data)
    if response.status_code == 303:
        assert re.fullmatch(r"/admin/partners/\d+", response.headers["location"])
        response = await client.get(response.headers["location"])
    return response, data


async def rotate(client: httpx.AsyncClient, tenant_id: int, kind: str) -> httpx.Response:
    """The rotate form posted; the partner's page after the redirect."""
    csrf = await csrf_of(client, f"/admin/partners/{tenant_id}")
    response = await client.post(
        f"/admin/partners/{tenant_id}/rotate", data={"csrf_token": csrf, "kind": kind}
    )
    if response.status_code == 303:
        assert response.headers["location"] == f"/admin/partners/{tenant_id}"
        response = await client.get(response.headers["location"])
    return response


def secret_shown(page: str, kind: str) -> str:
    found = re.search(rf'id="secret-{kind}">([^<]+)<', page)
    assert found, f"no {kind} shown"
    return html.unescape(found.group(1))


def postback_url_in(page: str) -> str:
    found = re.search(r'<textarea id="postback-url"[^>]*>([^<]+)</textarea>', page)
    assert found, "no postback URL on the page"
    return html.unescape(found.group(1))


class TestSigningIn:
    async def test_login_page_starts_an_anonymous_session(self, client):
        response = await client.get("/admin/login")
        assert response.status_code == 200
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(session.COOKIE + "=")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/;" in cookie  # the dashboard honours the admin session too
        assert "Secure" not in cookie  # plain http here; set when the request is https
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"

    async def test_secure_cookie_over_https(self, app, db):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
            response = await http.get("/admin/login")
        assert "Secure" in response.headers["set-cookie"]

    @pytest.mark.parametrize(
        "path", ["/admin", "/admin/partners/new", "/admin/partners/1", "/admin/partners/x"]
    )
    async def test_pages_need_a_session(self, client, path):
        response = await client.get(path)
        target = location(response)
        assert target.startswith("/admin/login")
        assert response.headers["x-frame-options"] == "DENY"

    async def test_sign_in_comes_back_to_the_page_asked_for(self, client):
        asked = location(await client.get("/admin/partners/1"))
        assert asked == "/admin/login?next=/admin/partners/1"
        login = await client.get(asked)
        assert 'name="next" value="/admin/partners/1"' in login.text
        response = await sign_in(client, next="/admin/partners/1")
        assert location(response) == "/admin/partners/1"

    @pytest.mark.parametrize(
        "target", ["https://evil.example/", "//evil.example/admin", "/admin/..\\evil", "/docs"]
    )
    async def test_never_sends_elsewhere_after_signing_in(self, client, target):
        assert location(await sign_in(client, next=target)) == "/admin"

    async def test_right_token_gives_a_new_session(self, client):
        anonymous = await csrf_of(client, "/admin/login")
        response = await sign_in(client)
        assert location(response) == "/admin"
        assert session.COOKIE in response.headers["set-cookie"]
        page = await client.get("/admin")
        assert page.status_code == 200
        assert "default" in page.text
        assert csrf_in(page.text) != anonymous  # the CSRF token changes on signing in

    async def test_wrong_token(self, client):
        response = await sign_in(client, token="not-the-token")
        assert response.status_code == 401
        assert "This token is not valid." in response.text
        assert location(await client.get("/admin")).startswith("/admin/login")

    async def test_throttled_after_repeated_failures(self, app, client, db):
        for _ in range(MAX_FAILURES):
            assert (await sign_in(client, token="guess")).status_code == 401
        throttled = await sign_in(client, token="guess")
        assert throttled.status_code == 429
        assert 0 < int(throttled.headers["retry-after"]) <= 300
        assert "Too many failed sign-ins" in throttled.text
        # Even the right token waits: guessing must not go on.
        assert (await sign_in(client)).status_code == 429
        # Another address is not affected.
        transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            assert location(await sign_in(other)) == "/admin"

    async def test_success_clears_failures(self, client):
        for _ in range(MAX_FAILURES - 1):
            await sign_in(client, token="typo")
        assert location(await sign_in(client)) == "/admin"
        client.cookies.clear()
        for _ in range(MAX_FAILURES - 1):
            assert (await sign_in(client, token="typo")).status_code == 401

    async def test_sign_in_needs_the_login_pages_csrf_token(self, client):
        await client.get("/admin/login")
        response = await client.post("/admin/login", data={"token": ADMIN_TOKEN})
        assert response.status_code == 403
        forged = await client.post(
            "/admin/login", data={"token": ADMIN_TOKEN, "csrf_token": "made-up"}
        )
        assert forged.status_code == 403
        assert location(await client.get("/admin")).startswith("/admin/login")

    async def test_a_cookie_signed_with_another_key_is_ignored(self, client, app):
        real = app.state.admin_token
        app.state.admin_token = "some-other-admin-token"
        try:
            await sign_in(client, token="some-other-admin-token")
        finally:
            app.state.admin_token = real
        # Signed under the old token: changing the admin token signs everyone out.
        assert location(await client.get("/admin")).startswith("/admin/login")

    async def test_sign_out(self, admin):
        csrf = await csrf_of(admin, "/admin")
        assert location(await admin.post("/admin/logout", data={"csrf_token": csrf})) == (
            "/admin/login"
        )
        assert location(await admin.get("/admin")).startswith("/admin/login")

    async def test_throttle_window_slides(self, monkeypatch):
        now = [1000.0]
        monkeypatch.setattr(time, "time", lambda: now[0])
        throttle = SignInThrottle(max_failures=2, window_seconds=60)
        await throttle.failed("a")
        now[0] += 30
        await throttle.failed("a")
        assert await throttle.retry_after("a") == 30
        now[0] += 30
        assert await throttle.retry_after("a") == 0


class TestCsrf:
    async def test_forms_without_the_token_are_refused(self, admin, db):
        data = {"name": "Evil", "slug": "evil", "retention_days": "7"}
        for sent in (data, {**data, "csrf_token": "wrong"}):
            response = await admin.post("/admin/partners/new", data=sent)
            assert response.status_code == 403
            assert "did not come from this site" in response.text
        assert await db.fetchval("SELECT count(*) FROM tenant WHERE slug = 'evil'") == 0

    @pytest.mark.parametrize("action", ["", "/disable", "/rotate"])
    async def test_every_change_checks_it(self, admin, db, action):
        default_id = await db.fetchval("SELECT id FROM tenant WHERE slug = 'default'")
        response = await admin.post(
            f"/admin/partners/{default_id}{action}", data={"kind": "api_key", "name": "Hacked"}
        )
        assert response.status_code == 403
        assert await db.fetchval("SELECT name FROM tenant WHERE id = $1", default_id) == "Default"

    async def test_sign_out_checks_it(self, admin):
        assert (await admin.post("/admin/logout")).status_code == 403
        assert (await admin.get("/admin")).status_code == 200

    async def test_changes_without_a_session_go_to_sign_in(self, client, db):
        response = await client.post("/admin/partners/new", data={"name": "x", "slug": "x"})
        assert location(response) == "/admin/login"


class TestPartnerList:
    async def test_shows_todays_conversions_and_last_postback(self, app, admin, db):
        await create_tenant(app, "bravo", name="Bravo Shop", ts_token="tok-bravo")
        for conversion_id in ("L-1", "L-2", "L-1"):  # the repeat is a duplicate: counted once
            params = postback(conversion_id, ts_token="tok-bravo", datetime_conversion=now_text())
            assert (await admin.get("/postback/", params=params)).status_code == 200
        page = await admin.get("/admin")
        assert page.status_code == 200
        row = re.search(
            r"<tr>\s*<td><a href=\"/admin/partners/\d+\">Bravo Shop</a>.*?</tr>", page.text, re.S
        )
        assert row, page.text
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
        assert cells[1] == "<code>bravo</code>"
        assert "Enabled" in cells[2]
        assert cells[3] == "2"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells[4])
        default_row = re.search(r">Default</a>.*?</tr>", page.text, re.S)
        assert default_row
        assert "never" in default_row.group(0)


class TestCreatePartner:
    async def test_create_shows_secrets_once_and_a_working_url(self, app, admin, db):
        response, _ = await create_partner(admin, name="Acme MY", slug="acme")
        assert response.status_code == 200
        assert "Partner created." in response.text
        ts_token = secret_shown(response.text, "ts_token")
        api_key = secret_shown(response.text, "api_key")
        row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'acme'")
        assert row["ts_token_hash"] == hash_secret(ts_token)
        assert row["api_key_hash"] == hash_secret(api_key)
        assert row["dedup_enabled"] is True

        url = postback_url_in(response.text)
        assert url.startswith("http://testserver/postback/?conversion_id={conversion_id}&")
        assert url.endswith(f"&ts_token={ts_token}")
        sent = await admin.get(fill_macros(url, "NEW-1", datetime_conversion=now_text()))
        assert sent.json()["tenant"] == "acme"

        page = await admin.get(f"/admin/partners/{row['id']}")
        assert page.status_code == 200
        assert ts_token not in page.text
        assert api_key not in page.text
        assert "NEW-1" in page.text
        assert "&lt;YOUR_TS_TOKEN&gt;" in page.text  # the placeholder instead

    async def test_reloading_neither_creates_again_nor_shows_the_secrets(self, admin, db):
        data = {"name": "Once", "slug": "once", "retention_days": "7"}
        data["csrf_token"] = await csrf_of(admin, "/admin/partners/new")
        posted = await admin.post("/admin/partners/new", data=data)
        assert posted.status_code == 303
        # What the browser reloads is the GET the redirect led to, not the POST.
        shown = await admin.get(posted.headers["location"])
        api_key = secret_shown(shown.text, "api_key")
        ts_token = secret_shown(shown.text, "ts_token")
        reloaded = await admin.get(posted.headers["location"])
        assert reloaded.status_code == 200
        assert 'id="shown-once"' not in reloaded.text
        assert api_key not in reloaded.text
        assert ts_token not in reloaded.text
        assert "Partner created." not in reloaded.text
        assert await db.fetchval("SELECT count(*) FROM tenant WHERE slug = 'once'") == 1
        # The secrets rode in the session only to that one page: the cookie holds them no more.
        assert api_key not in str(admin.cookies.get("postback_session"))

    async def test_secrets_are_shown_on_their_partners_page_only(self, admin, db, app):
        await create_tenant(app, "elsewhere")
        data = {"name": "Mine", "slug": "mine", "retention_days": "7"}
        data["csrf_token"] = await csrf_of(admin, "/admin/partners/new")
        posted = await admin.post("/admin/partners/new", data=data)
        other = await db.fetchval("SELECT id FROM tenant WHERE slug = 'elsewhere'")
        assert 'id="shown-once"' not in (await admin.get(f"/admin/partners/{other}")).text
        assert 'id="shown-once"' in (await admin.get(posted.headers["location"])).text

    async def test_rotating_then_reloading(self, admin, db, app):
        created = await create_tenant(app, "turn", ts_token="tok-turn")
        shown = await rotate(admin, created.tenant.id, "tlm_token")
        token = secret_shown(shown.text, "tlm_token")
        before = await db.fetchval(
            "SELECT tlm_token_hash FROM tenant WHERE id = $1", created.tenant.id
        )
        reloaded = await admin.get(f"/admin/partners/{created.tenant.id}")
        assert token not in reloaded.text
        assert (
            await db.fetchval("SELECT tlm_token_hash FROM tenant WHERE id = $1", created.tenant.id)
            == before
            == hash_secret(token)
        )

    async def test_own_tokens_and_settings(self, admin, db):
        response, _ = await create_partner(
            admin,
            slug="own",
            ts_token="chosen-token",
            tlm_token="chosen-tlm",
            retention_days="30",
            rate_limit_per_minute="600",
            timezone="Asia/Jakarta",
            dedup_enabled="",
        )
        assert response.status_code == 200
        row = await db.fetchrow("SELECT * FROM tenant WHERE slug = 'own'")
        assert row["ts_token_hash"] == hash_secret("chosen-token")
        assert row["tlm_token_hash"] == hash_secret("chosen-tlm")
        assert (row["retention_days"], row["rate_limit_per_minute"]) == (30, 600)
        assert row["timezone"] == "Asia/Jakarta"

    async def test_unchecked_box_turns_dedup_off(self, admin, db):
        data = {"name": "No dedup", "slug": "nodedup", "retention_days": "7"}
        data["csrf_token"] = await csrf_of(admin, "/admin/partners/new")
        assert (await admin.post("/admin/partners/new", data=data)).status_code == 303
        assert await db.fetchval("SELECT dedup_enabled FROM tenant WHERE slug = 'nodedup'") is False

    @pytest.mark.parametrize(
        ("fields", "status", "field", "message"),
        [
            ({"slug": "Bad Slug"}, 422, "slug", "should match pattern"),
            ({"slug": "default"}, 409, "slug", "already used"),
            ({"timezone": "Mars/Base"}, 422, "timezone", "unknown timezone"),
            ({"retention_days": "0"}, 422, "retention_days", "greater than or equal to 1"),
            ({"name": "  "}, 422, "name", "at least 1 character"),
        ],
    )
    async def test_refused_with_the_field_named(self, admin, db, fields, status, field, message):
        response, sent = await create_partner(admin, **fields)
        assert response.status_code == status
        assert f"<strong>{field}</strong>" in response.text
        assert message in response.text
        # The form comes back as it was sent.
        assert f'value="{html.escape(sent["name"].strip())}"' in response.text
        assert await db.fetchval("SELECT count(*) FROM tenant") == 1

    async def test_taken_token(self, app, admin, db):
        await create_tenant(app, "first", ts_token="shared")
        response, _ = await create_partner(admin, slug="second", ts_token="shared")
        assert response.status_code == 409
        assert "ts_token is already used" in response.text


class TestEditPartner:
    @pytest.fixture
    async def acme(self, app, db) -> int:
        created = await create_tenant(app, "acme", ts_token="tok-acme", rate_limit_per_minute=60)
        return created.tenant.id

    async def test_settings_form(self, admin, db, acme):
        csrf = await csrf_of(admin, f"/admin/partners/{acme}")
        response = await admin.post(
            f"/admin/partners/{acme}",
            data={
                "csrf_token": csrf,
                "name": "Acme Renamed",
                "slug": "acme-2",
                "retention_days": "14",
                "rate_limit_per_minute": "",
                "timezone": "Asia/Bangkok",
            },
        )
        assert location(response) == f"/admin/partners/{acme}?notice=saved"
        row = await db.fetchrow("SELECT * FROM tenant WHERE id = $1", acme)
        assert (row["name"], row["slug"], row["retention_days"]) == ("Acme Renamed", "acme-2", 14)
        assert row["rate_limit_per_minute"] is None  # emptied: no limit
        assert row["dedup_enabled"] is False  # box not sent
        assert row["timezone"] == "Asia/Bangkok"
        assert row["ts_token_hash"] == hash_secret("tok-acme")  # tokens untouched
        page = await admin.get(response.headers["location"])
        assert "Saved." in page.text
        assert "Acme Renamed" in page.text

    async def test_refused_change_keeps_the_partner(self, admin, db, acme):
        csrf = await csrf_of(admin, f"/admin/partners/{acme}")
        response = await admin.post(
            f"/admin/partners/{acme}",
            data={
                "csrf_token": csrf,
                "name": "X",
                "slug": "acme",
                "retention_days": "7",
                "timezone": "Nowhere/City",
            },
        )
        assert response.status_code == 422
        assert "unknown timezone" in response.text
        assert 'value="Nowhere/City"' in response.text
        assert await db.fetchval("SELECT name FROM tenant WHERE id = $1", acme) == "Acme"

    async def test_disable_and_enable(self, admin, db, acme):
        csrf = await csrf_of(admin, f"/admin/partners/{acme}")
        response = await admin.post(f"/admin/partners/{acme}/disable", data={"csrf_token": csrf})
        assert location(response) == f"/admin/partners/{acme}?notice=saved"
        assert await db.fetchval("SELECT enabled FROM tenant WHERE id = $1", acme) is False
        refused = await admin.get("/postback/", params=postback("OFF-1", ts_token="tok-acme"))
        assert refused.status_code == 422
        page = await admin.get(f"/admin/partners/{acme}")
        assert "Disabled" in page.text
        rejections = page.text.split('id="recent-rejections"')[1]
        assert "OFF-1" in rejections
        assert "is disabled" in rejections

        response = await admin.post(f"/admin/partners/{acme}/enable", data={"csrf_token": csrf})
        assert location(response).endswith("?notice=saved")
        assert await db.fetchval("SELECT enabled FROM tenant WHERE id = $1", acme) is True
        accepted = await admin.get("/postback/", params=postback("ON-1", ts_token="tok-acme"))
        assert accepted.status_code == 200

    async def test_default_partner_cannot_be_disabled(self, admin, db):
        default_id = await db.fetchval("SELECT id FROM tenant WHERE is_default")
        page = await admin.get(f"/admin/partners/{default_id}")
        assert f"/admin/partners/{default_id}/disable" not in page.text
        response = await admin.post(
            f"/admin/partners/{default_id}/disable", data={"csrf_token": csrf_in(page.text)}
        )
        assert response.status_code == 409
        assert "cannot be disabled" in response.text
        assert await db.fetchval("SELECT enabled FROM tenant WHERE is_default") is True

    async def test_rotate_shows_the_new_secret_once(self, app, admin, db, acme):
        response = await rotate(admin, acme, "ts_token")
        assert response.status_code == 200
        assert "Secret rotated." in response.text
        new_token = secret_shown(response.text, "ts_token")
        assert await db.fetchval("SELECT ts_token_hash FROM tenant WHERE id = $1", acme) == (
            hash_secret(new_token)
        )
        assert postback_url_in(response.text).endswith(f"ts_token={new_token}")
        # The old token no longer finds the partner; the new one does.
        old = await admin.get("/postback/", params=postback("R-1", ts_token="tok-acme"))
        assert old.json()["tenant"] == "default"
        new = await admin.get("/postback/", params=postback("R-2", ts_token=new_token))
        assert new.json()["tenant"] == "acme"
        again = await admin.get(f"/admin/partners/{acme}")
        assert new_token not in again.text

    async def test_rotate_api_key(self, admin, db, acme):
        response = await rotate(admin, acme, "api_key")
        key = secret_shown(response.text, "api_key")
        assert await db.fetchval("SELECT api_key_hash FROM tenant WHERE id = $1", acme) == (
            hash_secret(key)
        )
        reads = await admin.get("/postback/conversions", headers={"Authorization": f"Bearer {key}"})
        assert reads.status_code == 200

    async def test_rotate_unknown_kind(self, admin, db, acme):
        csrf = await csrf_of(admin, f"/admin/partners/{acme}")
        response = await admin.post(
            f"/admin/partners/{acme}/rotate", data={"csrf_token": csrf, "kind": "password"}
        )
        assert response.status_code == 422
        assert "must be one of" in response.text

    @pytest.mark.parametrize("path", ["/admin/partners/999999", "/admin/partners/abc"])
    async def test_unknown_partner(self, admin, path):
        response = await admin.get(path)
        assert response.status_code == 404
        assert "Not found." in response.text
        assert response.headers["x-frame-options"] == "DENY"

    async def test_unknown_partner_on_post(self, admin):
        csrf = await csrf_of(admin, "/admin")
        response = await admin.post("/admin/partners/999999/enable", data={"csrf_token": csrf})
        assert response.status_code == 404


class TestPartnerPage:
    async def test_recent_postbacks_and_rejections_of_that_partner_only(self, app, admin, db):
        alpha = await create_tenant(app, "alpha", ts_token="tok-alpha")
        await create_tenant(app, "bravo", ts_token="tok-bravo")
        await admin.get("/postback/", params=postback("ALPHA-1", ts_token="tok-alpha"))
        await admin.get(
            "/postback/", params=postback("ALPHA-1", ts_token="tok-alpha", status="approved")
        )
        await admin.get("/postback/", params=postback("BRAVO-1", ts_token="tok-bravo"))
        await admin.get(
            "/postback/",
            params={"conversion_id": "ALPHA-BAD", "ts_token": "tok-alpha", "usd_payout": "lots"},
        )
        await admin.get(
            "/postback/",
            params={"conversion_id": "BRAVO-BAD", "ts_token": "tok-bravo", "usd_payout": "lots"},
        )

        page = (await admin.get(f"/admin/partners/{alpha.tenant.id}")).text
        postbacks = page.split('id="recent-postbacks"')[1].split("</table>")[0]
        rejections = page.split('id="recent-rejections"')[1].split("</table>")[0]
        assert postbacks.count("ALPHA-1") == 2
        assert "duplicate of #" in postbacks
        assert "27.10" in postbacks
        assert "1.35" in postbacks
        assert "ALPHA-BAD" in rejections
        assert "usd_payout" in rejections
        assert "BRAVO" not in page

    async def test_script_looking_values_are_escaped(self, app, admin, db):
        evil = '<script>alert("x")</script>'
        response, _ = await create_partner(admin, name=evil, slug="evil")
        tenant_id = await db.fetchval("SELECT id FROM tenant WHERE slug = 'evil'")
        token = secret_shown(response.text, "ts_token")
        sent = await admin.get(
            "/postback/",
            params=postback(
                evil, ts_token=token, offer_name="<img src=x onerror=alert(1)>", offer_id='"><b>'
            ),
        )
        assert sent.status_code == 200
        await admin.get(
            "/postback/",
            params={"conversion_id": evil, "ts_token": token, "usd_payout": "<b>x</b>"},
        )
        for path in (f"/admin/partners/{tenant_id}", "/admin"):
            page = (await admin.get(path)).text
            assert "<script>alert" not in page
            assert "<img src=x" not in page
            assert '"><b>' not in page
            assert "<b>x</b>" not in page
            assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
        assert (
            "&lt;img src=x onerror=alert(1)&gt;"
            in (await admin.get(f"/admin/partners/{tenant_id}")).text
        )
        # No page carries an inline script: the CSP would block it anyway.
        assert "<script>" not in response.text.replace("<script src=", "")

    async def test_values_show_exactly_as_sent(self, app, admin, db):
        """Escaped, not altered: unescaping the page gives back each value as sent. (The
        status, the one value written into an attribute, is first reduced to a known word.)"""
        created = await create_tenant(app, "acme", ts_token="tok-acme")
        values = {
            "conversion_id": "<script>alert('x')</script>",
            "offer_name": "x'; DROP TABLE conversion; --",
            "status": 'x" onmouseover="alert(1)',
        }
        sent = await admin.get("/postback/", params=postback(ts_token="tok-acme", **values))
        assert sent.status_code == 200, sent.text
        page = (await admin.get(f"/admin/partners/{created.tenant.id}")).text
        postbacks = page.split('id="recent-postbacks"')[1].split("</table>")[0]
        assert "<script>alert" not in postbacks
        assert "onmouseover" not in postbacks
        assert '<span class="status other">other</span>' in postbacks
        stored = await db.fetchrow("SELECT conversion_id, offer_name, status_raw FROM conversion")
        assert dict(stored) == {
            "conversion_id": values["conversion_id"],
            "offer_name": values["offer_name"],
            "status_raw": values["status"],
        }
        shown = html.unescape(postbacks)
        assert values["conversion_id"] in shown
        assert values["offer_name"] in shown


class TestLanguages:
    async def test_default_from_the_browser(self, client):
        zh = await client.get(
            "/admin/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
        )
        assert '<html lang="zh-CN">' in zh.text
        assert "登录管理后台" in zh.text
        assert "管理员令牌" in zh.text
        en = await client.get("/admin/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert '<html lang="en">' in en.text
        assert "Sign in to the admin" in en.text
        other = await client.get("/admin/login", headers={"Accept-Language": "ms-MY"})
        assert "Sign in to the admin" in other.text

    async def test_switch_is_remembered(self, admin):
        chinese = await admin.get("/admin?lang=zh", headers={"Accept-Language": "en"})
        assert "合作伙伴" in chinese.text
        assert "今日转化" in chinese.text
        assert "最近回传" in chinese.text
        assert i18n.LANG_COOKIE in chinese.headers["set-cookie"]
        later = await admin.get("/admin", headers={"Accept-Language": "en"})
        assert "今日转化" in later.text
        back = await admin.get("/admin?lang=en")
        assert "Today's conversions" in html.unescape(back.text)

    async def test_partner_page_in_chinese(self, app, admin, db):
        created = await create_tenant(app, "acme")
        page = await admin.get(f"/admin/partners/{created.tenant.id}?lang=zh")
        for label in ("轮换密钥", "复制回传地址", "拒绝记录", "最近回传", "停用", "退出", "保存"):
            assert label in page.text, label
        assert f'href="/admin/partners/{created.tenant.id}?lang=en"' in page.text

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("", "en"),
            ("zh", "zh"),
            ("zh-TW", "zh"),
            ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
            ("fr-FR,zh-CN;q=0.8,en;q=0.5", "zh"),
            ("en;q=0.5, zh;q=0.9", "zh"),
            ("zh;q=0, en", "en"),
            ("de", "en"),
            ("zh;q=abc", "en"),
        ],
    )
    def test_accept_language(self, header, expected):
        assert i18n.from_accept_language(header) == expected

    def test_every_label_in_both_languages(self):
        placeholder = re.compile(r"\{(\w+)\}")
        for key, (english, chinese) in LABELS.items():
            assert english.strip(), key
            assert chinese.strip(), key
            assert set(placeholder.findall(english)) == set(placeholder.findall(chinese)), key
            assert re.search(r"[\u4e00-\u9fff]", chinese), f"{key} has no Chinese"

    def test_every_label_used_exists(self):
        from postback.admin.pages import TEMPLATES

        used = set()
        for template in TEMPLATES.glob("*.html"):
            used |= set(re.findall(r"""\bt\(\s*["'](\w+)["']""", template.read_text()))
        assert used - set(LABELS) == set()


async def test_home_page_links_to_the_admin(client):
    home = await client.get("/")
    assert 'href="/admin"' in home.text
    assert "管理后台" in home.text
    assert urlsplit(location(await client.get("/admin"))).path == "/admin/login"


class TestPublicUrl:
    async def test_unset_the_page_says_to_set_it(self, admin, db, app):
        assert app.state.settings.public_url is None
        created = await create_tenant(app, "pub", ts_token="tok-pub")
        page = await admin.get(f"/admin/partners/{created.tenant.id}", params={"lang": "en"})
        warning = re.search(r'id="public-url-unset">([^<]+)<', page.text)
        assert warning
        assert "POSTBACK_PUBLIC_URL" in warning.group(1)
        assert "http://testserver" in warning.group(1)
        assert postback_url_in(page.text).startswith("http://testserver/postback/")

    async def test_set_the_url_uses_it_and_no_warning(self, admin, db, app, monkeypatch):
        monkeypatch.setattr(app.state.settings, "public_url", "https://pb.example.com")
        created = await create_tenant(app, "pub", ts_token="tok-pub")
        page = await admin.get(f"/admin/partners/{created.tenant.id}")
        assert 'id="public-url-unset"' not in page.text
        assert postback_url_in(page.text).startswith("https://pb.example.com/postback/")


class TestRetentionHelp:
    """The partner form says what the retention days remove and how long history stays."""

    async def test_in_english_and_chinese_on_both_forms(self, app, admin):
        created = await create_tenant(app, "acme")
        for path in ("/admin/partners/new", f"/admin/partners/{created.tenant.id}"):
            english = html.unescape((await admin.get(path, params={"lang": "en"})).text)
            assert "Default 7." in english
            assert "duplicate postbacks, rejections, finished forward deliveries" in english
            assert "the raw payload of each conversion" in english
            assert "stay for 400 days (POSTBACK_HISTORY_DAYS)" in english
            chinese = html.unescape((await admin.get(path, params={"lang": "zh"})).text)
            assert "默认 7 天" in chinese
            assert "重复回传、拒绝记录、已完成的转发投递" in chinese
            assert "保留 400 天（POSTBACK_HISTORY_DAYS）" in chinese

    async def test_a_conversion_whose_payload_the_retention_cleared(self, admin, db):
        first = await admin.get("/postback/", params=postback("GONE-2", status="pending"))
        await admin.get("/postback/", params=postback("GONE-2", status="approved"))
        await db.execute("UPDATE conversion SET raw = NULL WHERE id = $1", first.json()["id"])

        for lang, text in (
            ("en", "Payload removed by the partner's retention"),
            ("zh", "原始数据已按合作伙伴的保留天数删除"),
        ):
            page = await admin.get(
                f"/admin/conversions/{first.json()['id']}", params={"lang": lang}
            )
            assert page.status_code == 200
            assert text in html.unescape(page.text)
