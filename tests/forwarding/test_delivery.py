"""Outgoing postbacks end to end: a postback comes in, the partner's receiver (a real HTTP
server on loopback) gets it, and the log shows every attempt."""

from __future__ import annotations

import itertools
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

import pytest
from standardwebhooks.webhooks import Webhook

from tests.factories import create_tenant, postback
from tests.forwarding.helpers import ADMIN, add_forward, eventually, send, settled

MACRO_URL = (
    "/hit?cid={conversion_id}&oid={order_id}&offer={offer_id}&name={offer_name}&st={status}"
    "&sale={sale_amount}&pay={payout}&usd={usd_payout}&myr={myr_payout}&cur={currency}"
    "&sub={aff_sub}&sub2={aff_sub2}&adv={adv_sub}&ev={event}&try={attempt}"
)


@pytest.fixture
async def acme(app, db):
    created = await create_tenant(app, "acme", ts_token="tok-acme")
    return created.tenant.id


class TestMacros:
    async def test_every_macro_filled_and_encoded(self, client, receiver, acme):
        await add_forward(client, acme, url=receiver.base + MACRO_URL)
        sent = postback("C/1 ä&x", offer_name="Shopee MY & SG", aff_sub="a b+c", adv_sub="z=1")
        await send(
            client, "C/1 ä&x", "tok-acme", **{k: v for k, v in sent.items() if k != "conversion_id"}
        )
        (hit,) = await eventually(lambda: receiver.to("/hit"))
        assert hit.method == "GET"
        assert hit.query == {
            "cid": "C/1 ä&x",
            "oid": sent["order_id"],
            "offer": sent["offer_id"],
            "name": "Shopee MY & SG",
            "st": "pending",
            "sale": sent["sale_amount_local"],
            "pay": sent["payout_local"],
            "usd": sent["usd_payout"],
            "myr": sent["myr_payout"],
            "cur": "MYR",
            "sub": "a b+c",
            "sub2": "",
            "adv": "z=1",
            "ev": "created",
            "try": "1",
        }
        # Encoded as percent escapes, never as raw separators.
        assert "cid=" + quote("C/1 ä&x", safe="") in hit.raw_query
        assert hit.headers["x-postback-delivery-id"].isdigit()

    async def test_payout_share(self, client, receiver, acme):
        await add_forward(client, acme, url=receiver.base + MACRO_URL, payout_percent="37.5")
        await send(
            client, "C-share", "tok-acme", payout_local="6.03", usd_payout="1.35", myr_payout="6.03"
        )
        (hit,) = await eventually(lambda: receiver.to("/hit"))

        def share(amount: str) -> str:
            cents = (Decimal(amount) * Decimal("0.375")).quantize(Decimal("0.01"), ROUND_HALF_UP)
            return str(cents)

        assert (hit.query["pay"], hit.query["usd"], hit.query["myr"]) == (
            share("6.03"),
            share("1.35"),
            share("6.03"),
        )
        assert hit.query["sale"] == "120.50"  # the sale itself is not shared

    async def test_unknown_macro_refused_when_saved(self, client, receiver, acme):
        response = await client.post(
            f"/api/tenants/{acme}/forwards",
            json={"url": receiver.base + "/x?c={conversion_id}&p={payot}&q={Status}"},
            headers=ADMIN,
        )
        assert response.status_code == 422
        (error,) = response.json()["errors"]
        assert error["field"] == "url"
        assert "{payot}, {Status}" in error["message"]


class TestFilters:
    async def test_statuses_and_offers(self, client, receiver, db, acme):
        await add_forward(
            client, acme, url=receiver.base + "/approved?c={conversion_id}", statuses=["approved"]
        )
        await add_forward(
            client, acme, url=receiver.base + "/offer?c={conversion_id}", offers=["2002"]
        )
        sent = [
            ("F-1", {"status": "approved", "offer_id": "1001"}),
            ("F-2", {"status": "pending", "offer_id": "2002"}),
            ("F-3", {"status": "approved", "offer_id": "2002"}),
            ("F-4", {"status": "pending", "offer_id": "1001"}),
        ]
        for cid, fields in sent:
            await send(client, cid, "tok-acme", **fields)
        want_approved = {c for c, f in sent if f["status"] == "approved"}
        want_offer = {c for c, f in sent if f["offer_id"] == "2002"}
        await settled(db, len(want_approved) + len(want_offer))
        assert {r.query["c"] for r in receiver.to("/approved")} == want_approved
        assert {r.query["c"] for r in receiver.to("/offer")} == want_offer


class TestEvents:
    async def test_created_then_status_changed(self, client, receiver, db, acme):
        await add_forward(
            client, acme, url=receiver.base + "/ev?e={event}&s={status}&c={conversion_id}"
        )
        await send(client, "E-1", "tok-acme", status="pending")
        await eventually(lambda: receiver.to("/ev"))
        await send(client, "E-1", "tok-acme", status="approved")
        await send(client, "E-1", "tok-acme", status="approved")  # a repeat: no new event
        await settled(db, 2)
        assert [(r.query["e"], r.query["s"]) for r in receiver.to("/ev")] == [
            ("created", "pending"),
            ("status_changed", "approved"),
        ]

    async def test_only_created(self, client, receiver, db, acme):
        await add_forward(client, acme, url=receiver.base + "/new?e={event}", events=["created"])
        await send(client, "E-2", "tok-acme", status="pending")
        await send(client, "E-2", "tok-acme", status="approved")
        await settled(db, 1)
        assert [r.query["e"] for r in receiver.to("/new")] == ["created"]

    async def test_only_status_changed(self, client, receiver, db, acme):
        await add_forward(
            client, acme, url=receiver.base + "/chg?s={status}", events=["status_changed"]
        )
        await send(client, "E-3", "tok-acme", status="pending")
        await send(client, "E-3", "tok-acme", status="rejected")
        await settled(db, 1)
        assert [r.query["s"] for r in receiver.to("/chg")] == ["rejected"]


class TestRetries:
    async def test_fails_twice_then_succeeds(self, client, receiver, db, acme):
        receiver.plans["/flaky"].statuses = [500, 503]
        await add_forward(client, acme, url=receiver.base + "/flaky?try={attempt}")
        await send(client, "R-1", "tok-acme")
        assert await settled(db, 1) == {"delivered": 1}
        hits = receiver.to("/flaky")
        assert [h.query["try"] for h in hits] == ["1", "2", "3"]
        # The schedule (0.2 s, then 0.4 s) between attempts, never sooner.
        gaps = [b.at - a.at for a, b in itertools.pairwise(hits)]
        assert gaps[0] >= 0.2, gaps
        assert gaps[1] >= 0.4, gaps
        page = (
            await client.get(
                f"/api/tenants/{acme}/deliveries", params={"attempts": "true"}, headers=ADMIN
            )
        ).json()
        (item,) = page["items"]
        assert item["state"] == "delivered"
        assert item["attempts"] == 3
        assert [a["status_code"] for a in item["attempt_log"]] == [500, 503, 200]
        assert item["attempt_log"][0]["response_excerpt"] == "ok"

    async def test_dead_after_the_schedule_then_resent(self, client, receiver, db, acme):
        receiver.plans["/down"].statuses = [500] * 9
        forward = await add_forward(client, acme, url=receiver.base + "/down?c={conversion_id}")
        for cid in ("D-1", "D-2", "D-3"):
            await send(client, cid, "tok-acme")
        assert await settled(db, 3) == {"dead": 3}
        assert len(receiver.to("/down")) == 9  # 1 + the 2 retries of the schedule, each
        shown = (
            await client.get(f"/api/tenants/{acme}/forwards/{forward['id']}", headers=ADMIN)
        ).json()
        assert shown["failing"] is True
        assert shown["enabled"] is True
        assert shown["deliveries"] == {"pending": 0, "delivered": 0, "dead": 3}

        dead = (
            await client.get(
                f"/api/tenants/{acme}/deliveries", params={"state": "dead"}, headers=ADMIN
            )
        ).json()["items"]
        one = dead[0]["id"]
        resent = await client.post(f"/api/tenants/{acme}/deliveries/{one}/resend", headers=ADMIN)
        assert resent.json() == {"requeued": 1}
        await eventually(lambda: len(receiver.to("/down")) == 10)
        assert await settled(db, 3) == {"dead": 2, "delivered": 1}
        resent = await client.post(
            f"/api/tenants/{acme}/forwards/{forward['id']}/resend", headers=ADMIN
        )
        assert resent.json() == {"requeued": 2}
        assert await settled(db, 3) == {"delivered": 3}
        shown = (
            await client.get(f"/api/tenants/{acme}/forwards/{forward['id']}", headers=ADMIN)
        ).json()
        assert shown["failing"] is False
        assert shown["dead_in_a_row"] == 0

    async def test_a_delivered_one_is_not_resent(self, client, receiver, db, acme):
        await add_forward(client, acme, url=receiver.base + "/fine")
        await send(client, "N-1", "tok-acme")
        await settled(db, 1)
        (item,) = (await client.get(f"/api/tenants/{acme}/deliveries", headers=ADMIN)).json()[
            "items"
        ]
        response = await client.post(
            f"/api/tenants/{acme}/deliveries/{item['id']}/resend", headers=ADMIN
        )
        assert response.status_code == 422
        assert "delivered" in response.json()["errors"][0]["message"]


class TestPost:
    async def test_json_body_signed_and_verified(self, client, receiver, db, acme):
        forward = await add_forward(
            client,
            acme,
            url=receiver.base + "/signed?c={conversion_id}",
            method="POST",
            signing=True,
        )
        secret = forward["signing_secret"]
        assert secret.startswith("whsec_")
        listed = (await client.get(f"/api/tenants/{acme}/forwards", headers=ADMIN)).json()
        assert "signing_secret" not in listed[0]  # shown once
        await send(client, "S-1", "tok-acme", payout_local="6.02")
        await settled(db, 1)
        (hit,) = receiver.to("/signed")
        assert hit.method == "POST"
        assert hit.query == {"c": "S-1"}
        assert hit.headers["content-type"] == "application/json"
        payload = Webhook(secret).verify(hit.body, hit.headers)
        assert payload["conversion_id"] == "S-1"
        assert payload["payout"] == "6.02"
        assert payload["event"] == "created"
        assert hit.headers["webhook-id"] == hit.headers["x-postback-delivery-id"]
        # Another secret does not verify it.
        with pytest.raises(Exception, match="signature"):
            Webhook("whsec_" + "A" * 32).verify(hit.body, hit.headers)

    async def test_signing_needs_post(self, client, receiver, acme):
        response = await client.post(
            f"/api/tenants/{acme}/forwards",
            json={"url": receiver.base + "/g", "signing": True},
            headers=ADMIN,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "signing"


class TestSendTest:
    async def test_sample_sent_and_nothing_kept(self, client, receiver, db, acme):
        forward = await add_forward(client, acme, url=receiver.base + "/probe?c={conversion_id}")
        response = await client.post(
            f"/api/tenants/{acme}/forwards/{forward['id']}/test", headers=ADMIN
        )
        body = response.json()
        assert body["ok"] is True
        assert body["status_code"] == 200
        assert [r.query["c"] for r in receiver.to("/probe")] == ["TEST-0001"]
        assert await db.fetchval("SELECT count(*) FROM delivery") == 0

    async def test_failure_is_shown(self, client, receiver, acme):
        receiver.plans["/probe"].statuses = [404]
        forward = await add_forward(client, acme, url=receiver.base + "/probe")
        body = (
            await client.post(f"/api/tenants/{acme}/forwards/{forward['id']}/test", headers=ADMIN)
        ).json()
        assert body["ok"] is False
        assert body["status_code"] == 404


class TestPausedForward:
    async def test_nothing_fires_while_disabled(self, client, receiver, db, acme):
        forward = await add_forward(client, acme, url=receiver.base + "/paused", enabled=False)
        await send(client, "P-1", "tok-acme")
        # A paused forward fires for nothing that arrives meanwhile.
        assert await db.fetchval("SELECT count(*) FROM delivery") == 0
        await client.patch(
            f"/api/tenants/{acme}/forwards/{forward['id']}", json={"enabled": True}, headers=ADMIN
        )
        await send(client, "P-2", "tok-acme")
        await settled(db, 1)
        assert len(receiver.to("/paused")) == 1


class TestMetrics:
    async def test_health_and_metrics_show_the_queue(self, client, receiver, db, acme):
        receiver.plans["/m"].statuses = [500] * 3
        await add_forward(client, acme, url=receiver.base + "/m")
        await send(client, "M-1", "tok-acme")
        assert await settled(db, 1) == {"dead": 1}
        health = (await client.get("/health")).json()
        assert health["deliveries"] == {"pending": 0, "due": 0, "dead": 1}
        text = (await client.get("/metrics")).text
        assert 'postback_deliveries{state="dead"} 1.0' in text
        assert 'postback_delivery_attempts_total{outcome="dead"}' in text
        assert "postback_delivery_attempt_seconds_count" in text
