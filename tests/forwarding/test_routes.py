"""The forwards API: saving checks what would otherwise fail silently later."""

from __future__ import annotations

import httpx
import pytest
from asgi_lifespan import LifespanManager

from postback.app import create_app
from tests.factories import create_tenant
from tests.fixtures import make_settings
from tests.forwarding.helpers import ADMIN, add_forward, send, settled


@pytest.fixture
async def two(app, db):
    acme = await create_tenant(app, "acme", ts_token="tok-acme")
    other = await create_tenant(app, "other", ts_token="tok-other")
    return acme, other


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    (error,) = response.json()["errors"]
    return response.status_code, error["field"], error["message"]


class TestSaving:
    async def test_create_list_update_delete(self, client, receiver, two):
        acme, _ = two
        tid = acme.tenant.id
        created = await add_forward(
            client,
            tid,
            url=receiver.base + "/pb?c={conversion_id}&key=abc",
            statuses=["approved", "approved", "pending"],
            payout_percent="80",
        )
        assert created["statuses"] == ["approved", "pending"]
        assert created["events"] == ["created", "status_changed"]
        assert created["url"].endswith("/pb?c={conversion_id}&key=***")
        assert created["signing_secret"] is None
        listed = (await client.get(f"/api/tenants/{tid}/forwards", headers=ADMIN)).json()
        assert [f["id"] for f in listed] == [created["id"]]
        assert listed[0]["payout_percent"] == "80"

        path = f"/api/tenants/{tid}/forwards/{created['id']}"
        changed = await client.patch(
            path, json={"statuses": None, "enabled": False, "method": "POST"}, headers=ADMIN
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert (body["statuses"], body["enabled"], body["method"]) == (None, False, "POST")

        signed = (await client.patch(path, json={"signing": True}, headers=ADMIN)).json()
        assert signed["signing_secret"].startswith("whsec_")
        rotated = (await client.post(path + "/rotate-secret", headers=ADMIN)).json()
        assert rotated["signing_secret"] not in (None, signed["signing_secret"])

        assert (await client.delete(path, headers=ADMIN)).status_code == 204
        assert (await client.get(path, headers=ADMIN)).status_code == 404

    @pytest.mark.parametrize(
        ("fields", "field", "words"),
        [
            ({"url": "http://h.test/{conversion_id}&{offer}"}, "url", "unknown macro {offer}"),
            ({"url": "ftp://h.test/x"}, "url", "http:// or https://"),
            ({"url": "http://h.test/x", "method": "PUT"}, "method", "'GET' or 'POST'"),
            ({"url": "http://h.test/x", "payout_percent": 150}, "payout_percent", "100"),
            ({"url": "http://h.test/x", "events": []}, "events", "at least 1"),
            ({"url": "http://h.test/x", "events": ["paid"]}, "events.0", "created"),
            ({"url": "http://h.test/x", "statuses": []}, "statuses", "at least 1"),
            ({"url": "http://h.test/x", "colour": "red"}, "colour", "not permitted"),
            ({"url": "http://h.test/x", "signing": True}, "signing", "POST"),
        ],
    )
    async def test_refused_with_the_field_named(self, client, two, fields, field, words):
        acme, _ = two
        response = await client.post(
            f"/api/tenants/{acme.tenant.id}/forwards", json=fields, headers=ADMIN
        )
        status, named, message = error_of(response)
        assert (status, named) == (422, field), message
        assert words in message

    async def test_an_unknown_partner_or_forward(self, client, two):
        acme, other = two
        missing = await client.post(
            "/api/tenants/999/forwards", json={"url": "http://127.0.0.1/x"}, headers=ADMIN
        )
        assert error_of(missing)[:2] == (404, "tenant_id")
        theirs = await add_forward(client, other.tenant.id, url="http://127.0.0.1/x")
        wrong = await client.get(
            f"/api/tenants/{acme.tenant.id}/forwards/{theirs['id']}", headers=ADMIN
        )
        assert error_of(wrong)[:2] == (404, "forward_id")


class TestPrivateTargets:
    @pytest.fixture
    async def guarded(self, database_url, tmp_path, two):
        """An instance with the default: private targets refused (and sending nothing)."""
        settings = make_settings(
            database_url,
            tmp_path,
            POSTBACK_FORWARD_ALLOW_PRIVATE=False,
            POSTBACK_FORWARD_CONCURRENCY=0,
        )
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=60):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                yield http

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:8080/pb",
            "http://localhost/pb",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.8/pb",
            "http://172.20.1.1/pb",
            "http://192.168.0.10/pb",
            "http://[::1]/pb",
            "http://[fc00::5]/pb",
        ],
    )
    async def test_refused_when_saved(self, guarded, two, url):
        acme, _ = two
        response = await guarded.post(
            f"/api/tenants/{acme.tenant.id}/forwards", json={"url": url}, headers=ADMIN
        )
        status, field, message = error_of(response)
        assert (status, field) == (422, "url")
        assert "POSTBACK_FORWARD_ALLOW_PRIVATE" in message

    async def test_refused_when_changed(self, guarded, client, two):
        acme, _ = two
        # Saved on an instance that allows private targets; this one refuses the change.
        saved = await add_forward(client, acme.tenant.id, url="http://127.0.0.1/a")
        response = await guarded.patch(
            f"/api/tenants/{acme.tenant.id}/forwards/{saved['id']}",
            json={"url": "http://10.9.9.9/b"},
            headers=ADMIN,
        )
        assert error_of(response)[:2] == (422, "url")


class TestPartnerKey:
    async def test_reads_its_own_log_only(self, client, receiver, db, two):
        acme, other = two
        mine = {"Authorization": f"Bearer {acme.secrets['api_key']}"}
        await add_forward(client, acme.tenant.id, url=receiver.base + "/mine?c={conversion_id}")
        await add_forward(client, other.tenant.id, url=receiver.base + "/theirs")
        await send(client, "K-1", "tok-acme")
        await send(client, "K-2", "tok-other")
        await settled(db, 2)
        own = await client.get(f"/api/tenants/{acme.tenant.id}/deliveries", headers=mine)
        assert [i["conversion_id"] for i in own.json()["items"]] == ["K-1"]
        theirs = await client.get(f"/api/tenants/{other.tenant.id}/deliveries", headers=mine)
        assert theirs.status_code == 404
        change = await client.post(
            f"/api/tenants/{acme.tenant.id}/forwards",
            json={"url": receiver.base + "/x"},
            headers=mine,
        )
        assert error_of(change)[:2] == (403, "authorization")

    async def test_log_filters(self, client, receiver, db, two):
        acme, _ = two
        receiver.plans["/half/L-2"].statuses = [500, 500, 500]  # every attempt of the schedule
        await add_forward(client, acme.tenant.id, url=receiver.base + "/half/{conversion_id}")
        for cid in ("L-1", "L-2", "L-3"):
            await send(client, cid, "tok-acme")
        found = await settled(db, 3)
        assert found == {"dead": 1, "delivered": 2}
        base = f"/api/tenants/{acme.tenant.id}/deliveries"
        dead = (await client.get(base, params={"state": "dead"}, headers=ADMIN)).json()
        assert [i["conversion_id"] for i in dead["items"]] == ["L-2"]
        one = (await client.get(base, params={"conversion_id": "L-3"}, headers=ADMIN)).json()
        assert [(i["conversion_id"], i["state"]) for i in one["items"]] == [("L-3", "delivered")]
        first = (await client.get(base, params={"limit": 2}, headers=ADMIN)).json()
        rest = (
            await client.get(
                base, params={"limit": 2, "before_id": first["next_before_id"]}, headers=ADMIN
            )
        ).json()
        assert [i["conversion_id"] for i in first["items"] + rest["items"]] == ["L-3", "L-2", "L-1"]
        assert rest["next_before_id"] is None
