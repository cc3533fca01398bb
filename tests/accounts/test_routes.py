"""/api/users: an admin creates, changes, disables users, resets passwords and ends sessions;
every signed-in user reads itself and changes its own password."""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher

from tests.accounts.helpers import PASSWORD, csrf_header, sign_in
from tests.factories import create_tenant, create_user


def without_clock(response: httpx.Response) -> object:
    """The answer without the window bounds (they follow the clock)."""
    body = response.json()
    return (
        {k: v for k, v in body.items() if k not in ("since", "until")}
        if isinstance(body, dict)
        else body
    )


def field_of(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


class TestCreating:
    async def test_an_admin_creates_a_user_with_a_generated_password(
        self, client, db, admin_headers
    ):
        created = await client.post(
            "/api/users",
            json={"email": "Ana@Example.com", "role": "analyst", "display_name": "Ana"},
            headers=admin_headers,
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert (body["email"], body["role"], body["partner"]) == (
            "Ana@Example.com",
            "analyst",
            None,
        )
        password = body["password"]
        assert len(password) >= 20
        stored = await db.fetchval("SELECT password_hash FROM app_user WHERE id = $1", body["id"])
        assert stored.startswith("$argon2id$")
        assert password not in stored
        assert PasswordHasher().verify(stored, password)
        # The generated password signs in (the email in any case); it is never shown again.
        assert (await sign_in(client, "ana@example.COM", password)).status_code == 303
        shown = await client.get(f"/api/users/{body['id']}", headers=admin_headers)
        assert "password" not in shown.json()

    async def test_a_chosen_password_and_a_partner_user(self, app, client, admin_headers):
        await create_tenant(app, "acme")
        created = await client.post(
            "/api/users",
            json={
                "email": "p@acme.test",
                "role": "partner",
                "partner": "acme",
                "password": PASSWORD,
            },
            headers=admin_headers,
        )
        assert created.status_code == 201, created.text
        assert (created.json()["partner"], created.json()["password"]) == ("acme", None)
        assert created.json()["display_name"] == "p"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"email": "x@y.test", "role": "analyst", "password": "short"}, "password"),
            ({"email": "not-an-email", "role": "analyst"}, "email"),
            ({"email": "x@y.test", "role": "owner"}, "role"),
            ({"email": "x@y.test", "role": "partner"}, "partner"),
            ({"email": "x@y.test", "role": "partner", "partner": "nobody"}, "partner"),
            ({"email": "x@y.test", "role": "analyst", "partner": "default"}, "partner"),
            ({"email": "x@y.test", "role": "analyst", "is_admin": True}, "is_admin"),
        ],
    )
    async def test_bad_input_is_a_422_naming_the_field(self, client, admin_headers, body, field):
        response = await client.post("/api/users", json=body, headers=admin_headers)
        assert response.status_code == 422, response.text
        assert field in field_of(response)

    async def test_the_password_minimum_is_said(self, client, admin_headers):
        response = await client.post(
            "/api/users",
            json={"email": "x@y.test", "role": "analyst", "password": "elevenchars"},
            headers=admin_headers,
        )
        assert response.json()["errors"] == [
            {"field": "password", "message": "String should have at least 12 characters"}
        ]

    async def test_an_email_is_unique_whatever_its_case(self, app, client, admin_headers):
        await create_user(app, "ana@example.com")
        again = await client.post(
            "/api/users", json={"email": "ANA@example.com", "role": "admin"}, headers=admin_headers
        )
        assert again.status_code == 409
        assert field_of(again) == ["email"]


class TestChanging:
    async def test_role_partner_and_name(self, app, client, admin_headers):
        await create_tenant(app, "acme")
        user_id = await create_user(app, "u@x.test", "analyst")
        url = f"/api/users/{user_id}"
        moved = await client.patch(
            url, json={"role": "partner", "partner": "acme"}, headers=admin_headers
        )
        assert (moved.json()["role"], moved.json()["partner"]) == ("partner", "acme")
        back = await client.patch(url, json={"role": "admin"}, headers=admin_headers)
        assert (back.json()["role"], back.json()["partner"]) == ("admin", None)
        named = await client.patch(url, json={"display_name": "Ursula"}, headers=admin_headers)
        assert named.json()["display_name"] == "Ursula"
        refused = await client.patch(url, json={"role": "partner"}, headers=admin_headers)
        assert refused.status_code == 422
        assert field_of(refused) == ["partner"]
        missing = await client.patch("/api/users/999999", json={}, headers=admin_headers)
        assert missing.status_code == 404

    async def test_disabling_ends_the_sessions_and_refuses_sign_in(
        self, app, client, admin_headers
    ):
        user_id = await create_user(app, "u@x.test", "analyst")
        assert (await sign_in(client, "u@x.test")).status_code == 303
        assert (await client.get("/postback/stats")).status_code == 200
        disabled = await client.patch(
            f"/api/users/{user_id}", json={"disabled": True}, headers=admin_headers
        )
        assert disabled.json()["disabled"] is True
        assert (await client.get("/postback/stats")).status_code == 401
        again = await sign_in(client, "u@x.test")
        assert again.status_code == 403
        assert "This account (or its partner) is disabled." in again.text
        await client.patch(f"/api/users/{user_id}", json={"disabled": False}, headers=admin_headers)
        assert (await sign_in(client, "u@x.test")).status_code == 303

    async def test_reset_password_shows_a_new_one_and_ends_the_sessions(
        self, app, client, admin_headers
    ):
        user_id = await create_user(app, "u@x.test", "analyst")
        assert (await sign_in(client, "u@x.test")).status_code == 303
        reset = await client.post(f"/api/users/{user_id}/reset-password", headers=admin_headers)
        assert reset.json()["sessions_revoked"] == 1
        assert (await client.get("/postback/stats")).status_code == 401
        assert (await sign_in(client, "u@x.test")).status_code == 401
        assert (await sign_in(client, "u@x.test", reset.json()["password"])).status_code == 303

    async def test_an_admin_ends_a_users_sessions(self, app, client, admin_headers):
        user_id = await create_user(app, "u@x.test", "analyst")
        assert (await sign_in(client, "u@x.test")).status_code == 303
        listed = await client.get("/api/users", headers=admin_headers)
        assert [(u["email"], u["live_sessions"]) for u in listed.json()] == [("u@x.test", 1)]
        ended = await client.post(f"/api/users/{user_id}/revoke-sessions", headers=admin_headers)
        assert ended.json() == {"sessions_revoked": 1}
        assert (await client.get("/postback/stats")).status_code == 401


class TestMe:
    async def test_each_kind_of_credential(self, app, client, admin_headers):
        created = await create_tenant(app, "acme")
        token = await client.get("/api/users/me", headers=admin_headers)
        assert token.json() | {"user": None} == {
            "kind": "admin_token", "role": "admin", "may_change": True,
            "sees_every_partner": True, "tenant_id": None, "user": None,
        }  # fmt: skip
        key = {"Authorization": f"Bearer {created.secrets['api_key']}"}
        partner = await client.get("/api/users/me", headers=key)
        assert (partner.json()["kind"], partner.json()["tenant_id"]) == (
            "partner_key",
            created.tenant.id,
        )
        await create_user(app, "a@x.test", "analyst", name="Ana")
        await sign_in(client, "a@x.test")
        mine = (await client.get("/api/users/me")).json()
        assert (mine["kind"], mine["role"], mine["may_change"], mine["sees_every_partner"]) == (
            "user", "analyst", False, True,
        )  # fmt: skip
        assert mine["user"]["display_name"] == "Ana"

    async def test_changing_ones_own_password(self, app, client):
        await create_user(app, "a@x.test", "analyst")
        await sign_in(client, "a@x.test")
        csrf = await csrf_header(client)
        url = "/api/users/me/password"
        unsent = await client.post(
            url, json={"current_password": PASSWORD, "new_password": "x" * 12}
        )
        assert unsent.status_code == 403  # no CSRF header: a page of another site cannot
        assert field_of(unsent) == ["csrf"]
        wrong = await client.post(
            url, json={"current_password": "guess", "new_password": "y" * 12}, headers=csrf
        )
        assert wrong.status_code == 422
        assert field_of(wrong) == ["current_password"]
        short = await client.post(
            url, json={"current_password": PASSWORD, "new_password": "short"}, headers=csrf
        )
        assert field_of(short) == ["new_password"]
        changed = await client.post(
            url, json={"current_password": PASSWORD, "new_password": "a new long password"},
            headers=csrf,
        )  # fmt: skip
        assert changed.json() == {"sessions_revoked": 1}
        assert (await client.get("/api/users/me")).status_code == 401
        assert (await sign_in(client, "a@x.test", "a new long password")).status_code == 303

    async def test_a_token_has_no_password_to_change(self, client, admin_headers):
        response = await client.post(
            "/api/users/me/password",
            json={"current_password": "x", "new_password": "y" * 12},
            headers=admin_headers,
        )
        assert response.status_code == 403


class TestRoles:
    async def test_an_analyst_reads_everything_and_changes_nothing(self, app, client):
        created = await create_tenant(app, "acme")
        await create_user(app, "a@x.test", "analyst")
        await sign_in(client, "a@x.test")
        csrf = await csrf_header(client)
        assert (await client.get("/api/tenants")).status_code == 200
        assert (await client.get(f"/api/tenants/{created.tenant.id}")).status_code == 200
        assert (await client.get("/dashboard/api/partners")).status_code == 200
        asked = await client.post("/api/nlq", json={"question": "sales by offer"}, headers=csrf)
        assert asked.status_code == 200, asked.text
        for method, url, body in [
            ("POST", "/api/tenants", {"name": "N", "slug": "n"}),
            ("PATCH", f"/api/tenants/{created.tenant.id}", {"name": "X"}),
            ("POST", "/api/users", {"email": "b@x.test", "role": "admin"}),
            ("GET", "/api/users", None),
        ]:
            response = await client.request(method, url, json=body, headers=csrf)
            assert response.status_code == 403, (method, url, response.text)
            assert field_of(response) == ["authorization"]
        # The admin pages are for admins: the analyst is sent to sign in as one, and its own
        # password there says so (a 403, not a wrong password).
        page = await client.get("/admin")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/admin/login")
        there = await sign_in(client, "a@x.test", area="admin")
        assert there.status_code == 403
        assert "This account is not an admin&#39;s" in there.text

    async def test_a_partner_user_sees_what_its_key_sees(self, app, client):
        acme = await create_tenant(app, "acme", ts_token="tok-acme")
        other = await create_tenant(app, "other", ts_token="tok-other")
        await create_user(app, "p@acme.test", "partner", partner="acme")
        await sign_in(client, "p@acme.test")
        me = (await client.get("/api/users/me")).json()
        assert (me["tenant_id"], me["sees_every_partner"]) == (acme.tenant.id, False)
        key = {"Authorization": f"Bearer {acme.secrets['api_key']}"}
        for url in (
            "/api/tenants",
            f"/api/tenants/{other.tenant.id}/forwards",
            f"/api/tenants/{acme.tenant.id}/forwards",
            "/api/rejections",
            f"/postback/stats?tenant={other.tenant.slug}",
        ):
            as_user, as_key = await client.get(url), await client.get(url, headers=key)
            assert (as_user.status_code, without_clock(as_user)) == (
                as_key.status_code,
                without_clock(as_key),
            )
        assert (await client.get(f"/api/tenants/{other.tenant.id}/forwards")).status_code == 404

    async def test_a_partner_users_sessions_end_with_its_partner(self, app, client, admin_headers):
        acme = await create_tenant(app, "acme")
        await create_user(app, "p@acme.test", "partner", partner="acme")
        await sign_in(client, "p@acme.test")
        assert (await client.get("/postback/stats")).status_code == 200
        await client.post(f"/api/tenants/{acme.tenant.id}/disable", headers=admin_headers)
        assert (await client.get("/postback/stats")).status_code == 401
        assert (await sign_in(client, "p@acme.test")).status_code == 403
