"""Changes to personal accounts are audited like any other: who (the admin token, or a
signed-in admin user by email and id), what changed, and never a password or its hash."""

from __future__ import annotations

from typing import Any

import httpx

from tests.accounts.helpers import PASSWORD, csrf_header, sign_in
from tests.audit.helpers import ADMIN, CLIENT_IP, entries, only, whole_log
from tests.factories import create_user

NEW_PASSWORD = "a much longer new password"


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/users", json=fields, headers=ADMIN)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_update_reset_revoke_by_the_admin_token(client, db) -> None:
    body = await create(client, email="ana@example.com", role="analyst", display_name="Ana")
    entry = await only(db, "user.create")
    assert (entry["actor_kind"], entry["client_ip"]) == ("admin_token", CLIENT_IP)
    assert (entry["target_kind"], entry["target_id"]) == ("user", str(body["id"]))
    assert entry["target_name"] == "ana@example.com"
    assert entry["after"] == {
        "email": "ana@example.com",
        "display_name": "Ana",
        "role": "analyst",
        "partner": None,
        "disabled": False,
        "password": "*** (new)",
    }
    response = await client.patch(
        f"/api/users/{body['id']}", json={"role": "admin", "disabled": True}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    entry = await only(db, "user.update")
    assert entry["before"] == {"role": "analyst", "disabled": False}
    assert entry["after"] == {"role": "admin", "disabled": True}
    reset = await client.post(f"/api/users/{body['id']}/reset-password", headers=ADMIN)
    assert reset.status_code == 200, reset.text
    assert (await only(db, "user.reset_password"))["after"]["password"] == "*** (new)"
    revoked = await client.post(f"/api/users/{body['id']}/revoke-sessions", headers=ADMIN)
    assert revoked.status_code == 200, revoked.text
    assert (await only(db, "user.revoke_sessions"))["after"] == {"sessions_revoked": 0}
    log = await whole_log(db)
    assert body["password"] not in log
    assert reset.json()["password"] not in log
    assert "argon2" not in log


async def test_a_signed_in_admin_user_is_named(app, client, db) -> None:
    admin_id = await create_user(app, "ops@example.com", "admin")
    assert (await sign_in(client, "ops@example.com", area="admin")).status_code in (200, 303)
    headers = await csrf_header(client)
    response = await client.post(
        "/api/users", json={"email": "pat@example.com", "role": "analyst"}, headers=headers
    )
    assert response.status_code == 201, response.text
    factory, entry = await entries(db, "user.create")  # the factory's, then the user's
    assert factory["target_name"] == "ops@example.com"
    assert entry["actor_kind"] == "user"
    assert entry["actor_label"] == "ops@example.com"
    assert entry["actor_user_id"] == admin_id
    changed = await client.post(
        "/api/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    entry = await only(db, "user.change_password")
    assert (entry["actor_label"], entry["target_id"]) == ("ops@example.com", str(admin_id))
    assert NEW_PASSWORD not in await whole_log(db)
