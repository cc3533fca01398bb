"""Every change made through the API leaves one audit entry, written with the change: who
(the admin token), when, from where (address, user agent), what, on which target, each field
before and after, and no secret anywhere in the row. `GET /api/audit` is the admin's only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import httpx

from tests.audit.helpers import ADMIN, AGENT, CLIENT_IP, entries, now, only, whole_log
from tests.factories import create_tenant, postback
from tests.forwarding.helpers import eventually


def assert_by_admin(entry: dict[str, Any], started: datetime, ended: datetime) -> None:
    assert entry["actor_kind"] == "admin_token"
    assert entry["actor_label"] == "admin token"
    assert entry["actor_user_id"] is None
    assert entry["client_ip"] == CLIENT_IP
    assert entry["user_agent"] == AGENT
    assert started <= datetime.fromisoformat(entry["created_at"]) <= ended


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/tenants", json=fields, headers=ADMIN)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class TestPartners:
    async def test_create(self, client, db):
        started = await now(db)
        body = await create(client, name="Acme MY", slug="acme", tlm_token="tlm-secret-1")
        ended = await now(db)
        entry = await only(db, "tenant.create")
        assert_by_admin(entry, started, ended)
        assert (entry["target_kind"], entry["target_id"]) == ("tenant", str(body["id"]))
        assert (entry["target_name"], entry["tenant_id"]) == ("Acme MY", body["id"])
        assert entry["before"] is None
        assert entry["after"] == {
            "name": "Acme MY",
            "slug": "acme",
            "enabled": True,
            "retention_days": 7,
            "dedup_enabled": True,
            "rate_limit_per_minute": None,
            "timezone": None,
            "day_first_dates": False,
            "decimal_comma": False,
            "api_key": "***",
            "ts_token": None,
            "ts_param": None,
            "tlm_token": "***",
        }
        log = await whole_log(db)
        assert body["secrets"]["api_key"] not in log
        assert "tlm-secret-1" not in log

    async def test_update_keeps_the_fields_that_changed(self, client, db):
        body = await create(client, name="Acme", slug="acme", ts_token="ts-old-secret")
        started = await now(db)
        response = await client.patch(
            f"/api/tenants/{body['id']}",
            json={"name": "Acme Asia", "retention_days": 30, "ts_token": "ts-new-secret"},
            headers=ADMIN,
        )
        ended = await now(db)
        assert response.status_code == 200, response.text
        entry = await only(db, "tenant.update")
        assert_by_admin(entry, started, ended)
        assert entry["before"] == {"name": "Acme", "retention_days": 7, "ts_token": "***"}
        assert entry["after"] == {
            "name": "Acme Asia",
            "retention_days": 30,
            "ts_token": "*** (new)",
        }
        assert entry["target_name"] == "Acme Asia"
        log = await whole_log(db)
        assert "ts-old-secret" not in log
        assert "ts-new-secret" not in log

    async def test_disable_and_enable(self, client, db):
        body = await create(client, name="Acme", slug="acme")
        for verb in ("disable", "enable"):
            response = await client.post(f"/api/tenants/{body['id']}/{verb}", headers=ADMIN)
            assert response.status_code == 200, response.text
        assert [e["action"] for e in await entries(db)] == [
            "tenant.create",
            "tenant.disable",
            "tenant.enable",
        ]
        disabled = await only(db, "tenant.disable")
        assert (disabled["before"], disabled["after"]) == ({"enabled": True}, {"enabled": False})
        enabled = await only(db, "tenant.enable")
        assert (enabled["before"], enabled["after"]) == ({"enabled": False}, {"enabled": True})

    async def test_rotating_each_secret(self, client, db):
        body = await create(client, name="Acme", slug="acme")
        shown = []
        for kind in ("api_key", "ts_token", "ts_param", "tlm_token"):
            response = await client.post(
                f"/api/tenants/{body['id']}/rotate", json={"kind": kind}, headers=ADMIN
            )
            assert response.status_code == 200, response.text
            shown.append(response.json()["secret"])
        rotated = await entries(db, "tenant.rotate_secret")
        assert [(e["before"], e["after"]) for e in rotated] == [
            ({"api_key": "***"}, {"api_key": "*** (new)"}),
            ({"ts_token": "***"}, {"ts_token": "*** (new)"}),
            ({"ts_param": None}, {"ts_param": "*** (new)"}),
            ({"tlm_token": None}, {"tlm_token": "*** (new)"}),
        ]
        log = await whole_log(db)
        assert all(secret not in log for secret in shown + list(body["secrets"].values()))

    async def test_a_refused_change_leaves_no_entry(self, client, db):
        await create(client, name="Acme", slug="acme")
        other = await create(client, name="Other", slug="other")
        response = await client.patch(
            f"/api/tenants/{other['id']}", json={"slug": "acme"}, headers=ADMIN
        )
        assert response.status_code == 409
        assert [e["action"] for e in await entries(db)] == ["tenant.create", "tenant.create"]

    async def test_nothing_changed_nothing_recorded(self, client, db):
        body = await create(client, name="Acme", slug="acme")
        response = await client.patch(
            f"/api/tenants/{body['id']}", json={"name": "Acme"}, headers=ADMIN
        )
        assert response.status_code == 200
        assert await entries(db, "tenant.update") == []


class TestForwards:
    async def test_every_change_of_a_forward(self, app, client, db, receiver):
        partner = await create_tenant(app, "acme", ts_token="tok-acme")
        tenant_id = partner.tenant.id
        base = f"/api/tenants/{tenant_id}/forwards"
        url = receiver.base + "/hook" + "?api_token=url-secret-99&click={aff_sub}"
        started = await now(db)
        response = await client.post(
            base, json={"url": url, "method": "POST", "signing": True}, headers=ADMIN
        )
        assert response.status_code == 201, response.text
        forward = response.json()
        created = await only(db, "forward.create")
        assert_by_admin(created, started, await now(db))
        masked = receiver.base + "/hook" + "?api_token=***&click={aff_sub}"
        assert (created["target_kind"], created["target_id"]) == ("forward", str(forward["id"]))
        assert (created["target_name"], created["tenant_id"]) == (masked, tenant_id)
        assert created["after"] == {
            "url": masked,
            "method": "POST",
            "events": ["created", "status_changed"],
            "statuses": None,
            "offers": None,
            "payout_percent": None,
            "signing": True,
            "enabled": True,
        }

        path = f"{base}/{forward['id']}"
        response = await client.patch(
            path, json={"enabled": False, "payout_percent": "50"}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        updated = await only(db, "forward.update")
        assert updated["before"] == {"payout_percent": None, "enabled": True}
        assert updated["after"] == {"payout_percent": "50", "enabled": False}

        response = await client.post(f"{path}/rotate-secret", headers=ADMIN)
        assert response.status_code == 200, response.text
        new_secret = response.json()["signing_secret"]
        rotated = await only(db, "forward.rotate_secret")
        assert (rotated["before"], rotated["after"]) == (
            {"signing_secret": "***"},
            {"signing_secret": "*** (new)"},
        )

        response = await client.delete(path, headers=ADMIN)
        assert response.status_code == 204
        deleted = await only(db, "forward.delete")
        assert deleted["after"] is None
        assert deleted["before"]["url"] == masked
        assert deleted["before"]["enabled"] is False
        assert deleted["target_id"] == str(forward["id"])

        log = await whole_log(db)
        for secret in ("url-secret-99", forward["signing_secret"], new_secret):
            assert secret not in log

    async def test_resending(self, app, client, db, receiver):
        partner = await create_tenant(app, "acme", ts_token="tok-acme")
        tenant_id = partner.tenant.id
        response = await client.post(
            f"/api/tenants/{tenant_id}/forwards", json={"url": receiver.base + "/r"}, headers=ADMIN
        )
        forward_id = response.json()["id"]
        sent = await client.get("/postback/", params=postback("RS-1", ts_token="tok-acme"))
        assert sent.status_code == 200

        async def delivered() -> Any:
            return await db.fetchval("SELECT id FROM delivery WHERE state = 'delivered'")

        delivery_id = await eventually(delivered)
        # As if every attempt had failed (the receiver's failures are tests/forwarding's).
        await db.execute("UPDATE delivery SET state = 'dead' WHERE id = $1", delivery_id)
        base = f"/api/tenants/{tenant_id}"
        response = await client.post(f"{base}/forwards/{forward_id}/resend", headers=ADMIN)
        assert response.json() == {"requeued": 1}
        await eventually(delivered)
        await db.execute("UPDATE delivery SET state = 'dead' WHERE id = $1", delivery_id)
        response = await client.post(f"{base}/deliveries/{delivery_id}/resend", headers=ADMIN)
        assert response.json() == {"requeued": 1}

        forward = await only(db, "forward.resend")
        assert (forward["target_kind"], forward["target_id"]) == ("forward", str(forward_id))
        assert forward["after"] == {"requeued": 1}
        assert forward["tenant_id"] == tenant_id
        one = await only(db, "delivery.resend")
        assert (one["target_kind"], one["target_id"]) == ("delivery", str(delivery_id))
        assert one["target_name"] == f"forward {forward_id}"
        assert one["tenant_id"] == tenant_id


class TestRejections:
    async def refuse(self, client: httpx.AsyncClient, db: asyncpg.Connection, cid: str) -> int:
        response = await client.get(
            "/postback/", params=postback(cid, ts_token="tok-acme", usd_payout="1,35")
        )
        assert response.status_code == 422
        return int(await db.fetchval("SELECT id FROM rejection WHERE conversion_id = $1", cid))

    async def test_single_corrected_and_bulk(self, app, client, db):
        partner = await create_tenant(app, "acme", ts_token="tok-acme")
        first = await self.refuse(client, db, "RJ-1")
        started = await now(db)
        response = await client.post(
            f"/api/rejections/{first}/replay",
            json={"fields": {"usd_payout": "1.35"}},
            headers=ADMIN,
        )
        assert response.status_code == 200, response.text
        replayed = await only(db, "rejection.replay")
        assert_by_admin(replayed, started, await now(db))
        assert (replayed["target_kind"], replayed["target_id"]) == ("rejection", str(first))
        assert replayed["tenant_id"] == partner.tenant.id
        assert replayed["before"] == {"replayed": False}
        assert replayed["after"] == {
            "conversion_pk": response.json()["conversion_pk"],
            "corrected": {"usd_payout": "1.35"},
            "tenant": None,
        }
        # Replayed again: nothing changes, nothing is recorded.
        again = await client.post(
            f"/api/rejections/{first}/replay",
            json={"fields": {"usd_payout": "1.35"}},
            headers=ADMIN,
        )
        assert again.json()["status"] == "already_replayed"
        assert len(await entries(db, "rejection.replay")) == 1

        # Two refused while the partner was disabled, replayed in bulk once it is enabled.
        tenant_path = f"/api/tenants/{partner.tenant.id}"
        await client.post(f"{tenant_path}/disable", headers=ADMIN)
        refused = []
        for cid in ("RJ-2", "RJ-3"):
            sent = await client.get("/postback/", params=postback(cid, ts_token="tok-acme"))
            assert sent.status_code >= 400
            refused.append(
                await db.fetchval("SELECT id FROM rejection WHERE conversion_id = $1", cid)
            )
        await client.post(f"{tenant_path}/enable", headers=ADMIN)
        response = await client.post(
            "/api/rejections/replay", params={"tenant": "acme"}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        assert response.json()["replayed"] == 2, response.text
        bulk = await only(db, "rejection.replay_bulk")
        assert bulk["tenant_id"] == partner.tenant.id
        assert bulk["after"] == {
            "filters": {"tenant": "acme"},
            **response.json(),
            "rejection_ids": refused,
        }
        assert "tok-acme" not in await whole_log(db)


class TestReading:
    async def test_a_partners_key_is_refused_its_own_entries_too(self, client, db):
        body = await create(client, name="Acme", slug="acme")
        own = {"Authorization": f"Bearer {body['secrets']['api_key']}"}
        for params in ({}, {"tenant": "acme"}):
            response = await client.get("/api/audit", params=params, headers=own)
            assert response.status_code == 403
            assert response.json()["errors"][0]["field"] == "authorization"

    async def test_the_api_shows_an_entry_as_stored(self, client, db):
        body = await create(client, name="Acme", slug="acme")
        stored = await only(db, "tenant.create")
        response = await client.get("/api/audit", headers=ADMIN)
        assert response.status_code == 200
        [item] = response.json()["items"]
        assert item == {
            "id": stored["id"],
            "at": item["at"],
            "actor": {"kind": "admin_token", "label": "admin token", "user_id": None},
            "client_ip": CLIENT_IP,
            "user_agent": AGENT,
            "action": "tenant.create",
            "target": {
                "kind": "tenant",
                "id": str(body["id"]),
                "name": "Acme",
                "tenant_id": body["id"],
            },
            "before": None,
            "after": stored["after"],
        }
        assert datetime.fromisoformat(item["at"]) == datetime.fromisoformat(stored["created_at"])
        assert response.json()["next_before_id"] is None


# Routes that change nothing kept (signing in and out, asking a question, a forward's test
# send, which keeps nothing): every other POST, PUT, PATCH and DELETE must be audited.
CHANGES_NOTHING = {
    ("POST", "/admin/login"),
    ("POST", "/admin/logout"),
    ("POST", "/dashboard/login"),
    ("POST", "/dashboard/logout"),
    ("POST", "/ask/login"),
    ("POST", "/ask/logout"),
    ("POST", "/ask/answer"),
    ("POST", "/api/nlq"),
    # A saved question answered now: a read, sent as POST like /api/nlq.
    ("POST", "/api/saved-questions/{saved_question_id}/answer"),
    ("POST", "/api/tenants/{tenant_id}/forwards/{forward_id}/test"),
    ("POST", "/admin/partners/{tenant_id}/forwards/{forward_id}/test"),
    # A test message to an alert channel: sent, nothing kept.
    ("POST", "/api/alert-channels/{channel_id}/test"),
    ("POST", "/admin/alert-channels/{channel_id}/test"),
}


def _dependencies(dependant: Any) -> set[Any]:
    found, pending = set(), [dependant]
    while pending:
        current = pending.pop()
        found.add(current.call)
        pending.extend(current.dependencies)
    return found


def test_every_changing_route_works_on_the_audited_session(app):
    from fastapi.routing import iter_route_contexts

    from postback.audit.routes import audited_session

    checked, unaudited = 0, []
    for context in iter_route_contexts(app.api.routes):
        dependant = getattr(context, "dependant", None)
        if dependant is None:
            continue
        for method in (context.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}:
            if (method, context.path) in CHANGES_NOTHING:
                continue
            checked += 1
            if audited_session not in _dependencies(dependant):
                unaudited.append((method, context.path))
    assert checked > 20
    assert unaudited == []
