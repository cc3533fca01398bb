"""Browser sessions kept server-side: only the token's hash is stored; a session ends at its
absolute expiry, after idling, on signing out, and when its user is disabled or its password
reset; sign-in is throttled per address and per email."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from postback.accounts.jobs import SESSION_KEEP_DAYS, prune_sessions
from postback.auth import COOKIE
from tests.accounts.helpers import csrf_header, sign_in
from tests.factories import create_user
from tests.fixtures import ADMIN_TOKEN, make_settings


def cookie_of(client: httpx.AsyncClient) -> str:
    value = client.cookies.get(COOKIE)
    assert value
    return value


async def client_from(app, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


class TestStore:
    async def test_only_the_tokens_hash_is_stored(self, app, client, db):
        user_id = await create_user(app, "a@x.test", "analyst")
        assert (await sign_in(client, "a@x.test")).status_code == 303
        token = cookie_of(client)
        rows = await db.fetch("SELECT * FROM sign_in_session")
        assert len(rows) == 1
        row = rows[0]
        assert row["id_hash"] == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(dict(row))
        assert (row["kind"], row["user_id"], row["ip"]) == ("user", user_id, "203.0.113.7")
        assert row["expires_at"] > row["created_at"]
        last = await db.fetchval("SELECT last_sign_in_at FROM app_user WHERE id = $1", user_id)
        assert last is not None

    async def test_a_fresh_token_on_signing_in(self, app, client):
        await create_user(app, "a@x.test", "analyst")
        await client.get("/dashboard")
        before = cookie_of(client)
        await sign_in(client, "a@x.test")
        assert cookie_of(client) != before

    async def test_the_admin_token_as_break_glass(self, client, db):
        page = await client.get("/admin/login")
        assert page.status_code == 200
        from tests.accounts.helpers import CSRF

        found = CSRF.search(page.text)
        assert found
        signed = await client.post(
            "/admin/login", data={"csrf_token": found[1], "token": ADMIN_TOKEN}
        )
        assert signed.status_code == 303
        assert (await client.get("/admin")).status_code == 200
        kinds = await db.fetch("SELECT kind, user_id, tenant_id FROM sign_in_session")
        assert [tuple(row) for row in kinds] == [("admin_token", None, None)]

    async def test_a_forged_or_unknown_cookie_is_nobody(self, client):
        client.cookies.set(COOKIE, "A" * 43)
        assert (await client.get("/postback/stats")).status_code == 401
        client.cookies.set(COOKIE, "not a token")
        assert (await client.get("/postback/stats")).status_code == 401


class TestEnds:
    async def test_at_its_absolute_expiry(self, app, client, db):
        await create_user(app, "a@x.test", "analyst")
        await sign_in(client, "a@x.test")
        assert (await client.get("/postback/stats")).status_code == 200
        await db.execute("UPDATE sign_in_session SET expires_at = now() - interval '1 second'")
        assert (await client.get("/postback/stats")).status_code == 401
        assert (await client.get("/dashboard")).text.count('name="password"') == 1

    async def test_after_idling(self, app, client, db, settings):
        await create_user(app, "a@x.test", "analyst")
        await sign_in(client, "a@x.test")
        idle = settings.session_idle_minutes
        await db.execute(
            "UPDATE sign_in_session SET last_seen_at = now() - make_interval(mins => $1)",
            int(idle) - 1,
        )
        # Still within the idle time: the request moves last_seen_at on.
        assert (await client.get("/postback/stats")).status_code == 200
        seen = await db.fetchval("SELECT now() - last_seen_at FROM sign_in_session")
        assert seen.total_seconds() < 60
        await db.execute(
            "UPDATE sign_in_session SET last_seen_at = now() - make_interval(mins => $1)",
            int(idle) + 1,
        )
        assert (await client.get("/postback/stats")).status_code == 401

    async def test_on_signing_out_even_if_the_cookie_is_kept(self, app, client, db):
        await create_user(app, "a@x.test", "analyst")
        await sign_in(client, "a@x.test")
        token = cookie_of(client)
        page = await client.get("/dashboard")
        from tests.accounts.helpers import CSRF

        found = CSRF.search(page.text)
        assert found
        out = await client.post("/dashboard/logout", data={"csrf_token": found[1]})
        assert out.status_code == 303
        assert await db.fetchval("SELECT revoked_at IS NOT NULL FROM sign_in_session")
        client.cookies.set(COOKIE, token)  # a copy of the old cookie opens nothing
        assert (await client.get("/postback/stats")).status_code == 401

    async def test_the_settings_set_the_lengths(self, database_url, tmp_path):
        settings = make_settings(
            database_url,
            tmp_path,
            POSTBACK_SESSION_HOURS=2,
            POSTBACK_SESSION_IDLE_MINUTES=15,
        )
        assert (settings.session_hours, settings.session_idle_minutes) == (2, 15)
        with pytest.raises(ValueError, match="POSTBACK_SESSION_HOURS"):
            make_settings(database_url, tmp_path, POSTBACK_SESSION_HOURS=0)

    async def test_a_new_session_lasts_the_configured_hours(self, app, client, db, settings):
        await create_user(app, "a@x.test", "analyst")
        await sign_in(client, "a@x.test")
        length = await db.fetchval("SELECT expires_at - created_at FROM sign_in_session")
        assert length.total_seconds() == pytest.approx(settings.session_hours * 3600, abs=5)


class TestCsrf:
    async def test_changes_through_a_session_need_its_own_csrf_token(self, app, client):
        await create_user(app, "root@x.test", "admin")
        await sign_in(client, "root@x.test", area="admin")
        body = {"email": "new@x.test", "role": "analyst"}
        assert (await client.post("/api/users", json=body)).status_code == 403
        wrong = {"X-CSRF-Token": "x" * 43}
        assert (await client.post("/api/users", json=body, headers=wrong)).status_code == 403
        right = await csrf_header(client)
        created = await client.post("/api/users", json=body, headers=right)
        assert created.status_code == 201, created.text
        # Reads need no CSRF token.
        assert (await client.get("/api/users")).status_code == 200


class TestThrottle:
    async def test_failures_for_one_email_throttle_it_from_any_address(self, app, db):
        await create_user(app, "a@x.test", "analyst")
        for attempt in range(5):
            async with await client_from(app, f"198.51.100.{attempt + 1}") as http:
                assert (await sign_in(http, "a@x.test", "wrong password!")).status_code == 401
        async with await client_from(app, "198.51.100.99") as http:
            refused = await sign_in(http, "a@x.test")  # the right password, but throttled
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) > 0
            # Another email from this address is not held back.
            await create_user(app, "b@x.test", "analyst")
            assert (await sign_in(http, "b@x.test")).status_code == 303

    async def test_failures_from_one_address_throttle_it(self, app, db):
        await create_user(app, "a@x.test", "analyst")
        async with await client_from(app, "198.51.100.7") as http:
            for attempt in range(5):
                email = f"guess{attempt}@x.test"
                assert (await sign_in(http, email, "wrong password!")).status_code == 401
            assert (await sign_in(http, "a@x.test")).status_code == 429

    async def test_an_unknown_email_and_a_wrong_password_look_the_same(self, app, client):
        await create_user(app, "a@x.test", "analyst")
        unknown = await sign_in(client, "nobody@x.test", "whatever password")
        wrong = await sign_in(client, "a@x.test", "whatever password")
        assert unknown.status_code == wrong.status_code == 401
        assert "This email and password do not match." in unknown.text
        assert "This email and password do not match." in wrong.text


class TestPruning:
    """Ended sessions are kept 30 days (the users page may still name them), then removed;
    live ones and recently ended ones stay."""

    async def test_only_sessions_ended_long_ago_go(self, app, db):
        now = datetime(2026, 12, 3, 12, tzinfo=UTC)
        day = timedelta(days=1)
        idle = timedelta(minutes=60)
        # name: (last seen, expires, revoked)
        sessions = {
            "live": (now - timedelta(minutes=5), now + day, None),
            "expired-recently": (now - 2 * day, now - day, None),
            "expired-long-ago": (now - 40 * day, now - 39 * day, None),
            "revoked-recently": (now - 3 * day, now + 60 * day, now - 3 * day),
            "revoked-long-ago": (now - 45 * day, now + 60 * day, now - 31 * day),
            "idle-long-ago": (now - 32 * day, now + 60 * day, None),
        }
        for name, (seen, expires, revoked) in sessions.items():
            await db.execute(
                "INSERT INTO sign_in_session (id_hash, kind, created_at, last_seen_at,"
                " expires_at, revoked_at) VALUES ($1, 'admin_token', $2, $2, $3, $4)",
                name,
                seen,
                expires,
                revoked,
            )
        cutoff = now - SESSION_KEEP_DAYS * day

        def ended_before_cutoff(seen, expires, revoked) -> bool:
            ends = [expires, seen + idle] + ([revoked] if revoked else [])
            return min(ends) < cutoff

        expected_left = {n for n, s in sessions.items() if not ended_before_cutoff(*s)}
        assert expected_left == {"live", "expired-recently", "revoked-recently"}

        removed = await prune_sessions(app.state.db.engine, idle.total_seconds() / 60, now=now)

        left = {r["id_hash"] for r in await db.fetch("SELECT id_hash FROM sign_in_session")}
        assert left == expected_left
        assert removed == len(sessions) - len(expected_left)
