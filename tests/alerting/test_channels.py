"""Alert channels end to end: a finding kept by the scan's own statement queues a notification,
the app's notification worker sends it to a real HTTP receiver on loopback (one path per
format) or a real SMTP server (aiosmtpd, started here), and what arrives is checked byte for
byte against each service's documented format. DingTalk's signature is computed here
independently of the app."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from postback.alerting import service as channel_service
from postback.alerting.channels import Channel, ChannelSender, Notice, Smtp
from postback.alerting.schemas import ChannelIn
from postback.anomalies import repository as anomalies
from postback.anomalies.repository import Finding
from postback.errors import InvalidInput
from postback.forwarding.sender import Sender
from tests.alerting.smtp import SmtpServer
from tests.factories import create_tenant
from tests.forwarding.helpers import eventually

NOW = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
STARTED = datetime(2026, 12, 3, 9, 40, tzinfo=UTC)
EN = "Shopee MY has sent no postbacks for 3.3 hours (usually about 40 an hour at this time)"
ZH = "Shopee MY 已 3.3 小时没有回传（平时这个时段每小时约 40 条）"


def finding(tenant_id: int, severity: str = "warning", kind: str = "silence") -> Finding:
    return Finding(tenant_id, None, kind, severity, STARTED, 0.0, 40.0, {}, EN, ZH)


async def keep(app, *findings: Finding) -> anomalies.Kept:
    """Keep findings as the scan does (its own statement queues the notifications)."""
    async with app.state.db.engine.begin() as conn:
        assert isinstance(conn, AsyncConnection)
        kept = await anomalies.keep_findings(conn, list(findings), NOW)
    app.state.notifications.wake()
    return kept


async def add_channel(client, admin_headers, **fields: Any) -> dict[str, Any]:
    answer = await client.post("/api/alert-channels", json=fields, headers=admin_headers)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def notifications(db) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT * FROM alert_notification ORDER BY id")
    return [dict(r) for r in rows]


async def all_settled(db, count: int) -> list[dict[str, Any]]:
    async def done() -> list[dict[str, Any]] | None:
        found = await notifications(db)
        if len(found) >= count and all(n["state"] != "pending" for n in found):
            return found
        return None

    result: list[dict[str, Any]] = await eventually(done)
    return result


def local_text(first_line: str, language: str = "en") -> str:
    """The message text as the channel should carry it (Kuala Lumpur is UTC+8)."""
    if language == "zh":
        return "\n".join(
            [
                first_line,
                ZH,
                "合作伙伴：Shopee MY",
                "开始时间：2026-12-03 17:40 (Asia/Kuala_Lumpur)",
            ]
        )
    return "\n".join(
        [first_line, EN, "Partner: Shopee MY", "Since: 2026-12-03 17:40 (Asia/Kuala_Lumpur)"]
    )


@pytest.fixture
async def shop(app, db):
    return await create_tenant(app, "shopee-my", name="Shopee MY", timezone="Asia/Kuala_Lumpur")


class TestFormats:
    async def test_each_webhook_format_as_its_service_documents_it(
        self, app, db, client, admin_headers, receiver, shop
    ):
        base = receiver.base
        await add_channel(client, admin_headers, name="S", kind="slack", url=f"{base}/slack")
        await add_channel(
            client, admin_headers, name="L", kind="lark", url=f"{base}/lark", language="zh"
        )
        await add_channel(client, admin_headers, name="W", kind="wecom", url=f"{base}/wecom")
        await add_channel(client, admin_headers, name="J", kind="webhook", url=f"{base}/json")
        kept = await keep(app, finding(shop.tenant.id))
        assert (kept.opened, kept.queued) == (1, 4)
        done = await all_settled(db, 4)
        assert {n["state"] for n in done} == {"delivered"}
        assert {n["attempts"] for n in done} == {1}

        subject_en = "[Postback] warning: Shopee MY, postbacks stopped"
        (slack,) = receiver.to("/slack")
        assert slack.method == "POST"
        assert slack.headers["content-type"] == "application/json"
        assert json.loads(slack.body) == {"text": local_text(subject_en)}
        (lark,) = receiver.to("/lark")
        assert json.loads(lark.body) == {
            "msg_type": "text",
            "content": {"text": local_text("【Postback】警告告警：Shopee MY 回传中断", "zh")},
        }
        (wecom,) = receiver.to("/wecom")
        assert json.loads(wecom.body) == {
            "msgtype": "text",
            "text": {"content": local_text(subject_en)},
        }
        (generic,) = receiver.to("/json")
        body = json.loads(generic.body)
        alert_id = await db.fetchval("SELECT id FROM alert")
        assert body == {
            "id": alert_id,
            "tenant": "shopee-my",
            "offer_id": None,
            "kind": "silence",
            "severity": "warning",
            "state": "open",
            "started_at": "2026-12-03T09:40:00+00:00",
            "last_seen_at": "2026-12-03T13:00:00+00:00",
            "ended_at": None,
            "observed": 0.0,
            "expected": 40.0,
            "message_en": EN,
            "message_zh": ZH,
            "acknowledged_at": None,
            "resolved_at": None,
            "event": "opened",
            "channel": "J",
            "text": local_text(subject_en),
        }

    async def test_dingtalk_signed_with_its_secret(
        self, app, db, client, admin_headers, receiver, shop
    ):
        secret = "SECb1a2c3d4e5f60718293a4b5c6d7e8f"
        channel = await add_channel(
            client,
            admin_headers,
            name="D",
            kind="dingtalk",
            url=f"{receiver.base}/robot/send?access_token=abc123",
            secret=secret,
        )
        assert channel["secret_set"] is True
        assert "abc123" not in json.dumps(channel)
        assert secret not in json.dumps(channel)
        assert channel["url"] == f"{receiver.base}/robot/send?access_token=***"
        before = int(time.time() * 1000)
        await keep(app, finding(shop.tenant.id, "critical"))
        await all_settled(db, 1)
        (sent,) = receiver.to("/robot/send")
        assert json.loads(sent.body) == {
            "msgtype": "text",
            "text": {"content": local_text("[Postback] critical: Shopee MY, postbacks stopped")},
        }
        assert sent.query["access_token"] == "abc123"
        timestamp = int(sent.query["timestamp"])
        assert before <= timestamp <= int(time.time() * 1000)
        # DingTalk's rule: HMAC-SHA256 of "timestamp\nsecret" keyed by the secret, in base64,
        # URL-encoded in the query.
        expected = base64.b64encode(
            hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
        assert sent.query["sign"] == expected

    async def test_an_unsigned_dingtalk_url_is_left_as_it_is(
        self, app, db, client, admin_headers, receiver, shop
    ):
        await add_channel(
            client, admin_headers, name="D", kind="dingtalk", url=f"{receiver.base}/ding?x=1"
        )
        await keep(app, finding(shop.tenant.id))
        await all_settled(db, 1)
        (sent,) = receiver.to("/ding")
        assert sent.query == {"x": "1"}


class TestEmail:
    async def test_an_alert_by_email_through_a_real_smtp_server(
        self, app, db, client, admin_headers, shop, smtp_server: SmtpServer
    ):
        await add_channel(
            client,
            admin_headers,
            name="Ops mail",
            kind="email",
            recipients=["ops@example.com", "oncall@example.com"],
            language="zh",
        )
        await keep(app, finding(shop.tenant.id, "critical"))
        (done,) = await all_settled(db, 1)
        assert done["state"] == "delivered"
        assert done["last_status_code"] == 250
        (envelope,) = smtp_server.messages
        assert envelope.mail_from == "alerts@postback.test"
        assert envelope.rcpt_tos == ["ops@example.com", "oncall@example.com"]
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert mail["Subject"] == "【Postback】严重告警：Shopee MY 回传中断"
        assert mail["To"] == "ops@example.com, oncall@example.com"
        body = mail.get_body().get_content()  # type: ignore[union-attr]
        assert body.strip() == local_text("【Postback】严重告警：Shopee MY 回传中断", "zh")

    async def test_the_test_button_shows_the_smtp_answer(
        self, client, admin_headers, smtp_server: SmtpServer
    ):
        channel = await add_channel(
            client, admin_headers, name="M", kind="email", recipients=["ops@example.com"]
        )
        answer = await client.post(
            f"/api/alert-channels/{channel['id']}/test", headers=admin_headers
        )
        assert answer.status_code == 200
        tested = answer.json()
        assert tested["ok"] is True
        assert tested["status_code"] == 250
        assert tested["target"] == f"smtp://127.0.0.1:{smtp_server.port}"
        assert "OK" in tested["response_excerpt"]
        (envelope,) = smtp_server.messages
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert mail["Subject"] == "[Postback] Test message: this alert channel works"

    async def test_without_an_smtp_server_the_failure_says_so(self, app, client, admin_headers):
        channel = await add_channel(
            client, admin_headers, name="M", kind="email", recipients=["ops@example.com"]
        )
        answer = await client.post(
            f"/api/alert-channels/{channel['id']}/test", headers=admin_headers
        )
        assert answer.json()["ok"] is False
        assert "POSTBACK_SMTP_HOST" in answer.json()["error"]


class TestDelivery:
    async def test_a_failed_attempt_is_retried_after_its_delay(
        self, app, db, client, admin_headers, receiver, shop
    ):
        receiver.plans["/slack"].statuses = [503]
        await add_channel(
            client, admin_headers, name="S", kind="slack", url=f"{receiver.base}/slack"
        )
        await keep(app, finding(shop.tenant.id))
        (done,) = await all_settled(db, 1)
        assert (done["state"], done["attempts"], done["last_status_code"]) == ("delivered", 2, 200)
        first, second = receiver.to("/slack")
        assert first.body == second.body
        # The test settings' first retry is after 0.2 s.
        assert second.at - first.at >= 0.2

    async def test_no_retry_left_means_dead_and_shown_on_the_channel(
        self, app, db, client, admin_headers, receiver, shop
    ):
        receiver.plans["/slack"].statuses = [500, 500, 500]
        channel = await add_channel(
            client, admin_headers, name="S", kind="slack", url=f"{receiver.base}/slack"
        )
        await keep(app, finding(shop.tenant.id))
        (done,) = await all_settled(db, 1)
        assert (done["state"], done["attempts"]) == ("dead", 3)
        assert len(receiver.to("/slack")) == 3
        shown = await client.get(f"/api/alert-channels/{channel['id']}", headers=admin_headers)
        assert shown.json()["notifications"] == {"pending": 0, "delivered": 0, "dead": 1}
        log = await client.get(
            f"/api/alert-channels/{channel['id']}/notifications", headers=admin_headers
        )
        (item,) = log.json()["items"]
        assert (item["state"], item["last_status_code"]) == ("dead", 500)

    async def test_a_200_with_an_error_code_in_the_body_is_a_failure(
        self, app, db, client, admin_headers, receiver, shop
    ):
        refusal = b'{"code":19021,"msg":"sign match fail or timestamp is not within one hour"}'
        receiver.plans["/lark"].body = refusal
        channel = await add_channel(
            client, admin_headers, name="L", kind="lark", url=f"{receiver.base}/lark"
        )
        tested = await client.post(
            f"/api/alert-channels/{channel['id']}/test", headers=admin_headers
        )
        assert tested.json()["ok"] is False
        assert tested.json()["status_code"] == 200
        assert "19021" in tested.json()["error"]
        assert tested.json()["response_excerpt"] == refusal.decode()

    async def test_repeated_findings_notify_once_and_escalation_again(
        self, app, db, client, admin_headers, receiver, shop
    ):
        await add_channel(
            client, admin_headers, name="S", kind="slack", url=f"{receiver.base}/slack"
        )
        await add_channel(
            client,
            admin_headers,
            name="C",
            kind="slack",
            url=f"{receiver.base}/critical",
            min_severity="critical",
        )
        assert (await keep(app, finding(shop.tenant.id))).queued == 1
        assert (await keep(app, finding(shop.tenant.id))).queued == 0  # the same alert again
        escalated = await keep(app, finding(shop.tenant.id, "critical"))
        assert (escalated.opened, escalated.queued) == (0, 2)
        await all_settled(db, 3)
        events = [(n["channel_id"], n["event"]) for n in await notifications(db)]
        assert [e for _, e in events] == ["opened", "escalated", "escalated"]
        (critical,) = receiver.to("/critical")
        assert json.loads(critical.body)["text"].startswith(
            "[Postback] now critical: Shopee MY, postbacks stopped"
        )

    async def test_a_channel_scoped_to_a_partner_hears_only_of_it(
        self, app, db, client, admin_headers, receiver, shop
    ):
        other = await create_tenant(app, "lazada-sg", name="Lazada SG")
        await add_channel(
            client,
            admin_headers,
            name="Lazada only",
            kind="slack",
            url=f"{receiver.base}/lazada",
            tenant_id=other.tenant.id,
        )
        assert (await keep(app, finding(shop.tenant.id))).queued == 0
        assert (await keep(app, finding(other.tenant.id))).queued == 1
        await all_settled(db, 1)
        assert len(receiver.to("/lazada")) == 1

    async def test_a_paused_channel_is_not_told(
        self, app, db, client, admin_headers, receiver, shop
    ):
        await add_channel(
            client,
            admin_headers,
            name="S",
            kind="slack",
            url=f"{receiver.base}/slack",
            enabled=False,
        )
        assert (await keep(app, finding(shop.tenant.id))).queued == 0


class TestPrivateTargets:
    async def test_saving_a_private_url_is_refused_unless_allowed(self, app, shop):
        from sqlalchemy.ext.asyncio import AsyncSession

        from postback.audit import service as audit
        from tests.factories import TEST_ACTOR

        data = ChannelIn(name="x", kind="slack", url="http://127.0.0.1:9/hook")
        async with AsyncSession(app.state.db.engine) as session:
            audit.act_as(session, TEST_ACTOR)
            with pytest.raises(InvalidInput, match="loopback, private"):
                await channel_service.create_channel(session, data, allow_private=False)
            made = await channel_service.create_channel(session, data, allow_private=True)
            assert made.url == "http://127.0.0.1:9/***"
            await session.rollback()

    async def test_sending_to_a_private_address_is_refused_unless_allowed(self, receiver):
        channel = Channel(1, "x", "slack", f"{receiver.base}/slack", None, None, "en")
        alert = {
            "id": 1,
            "kind": "silence",
            "severity": "warning",
            "offer_id": None,
            "started_at": STARTED,
            "message_en": EN,
            "message_zh": ZH,
        }
        notice = Notice(alert, "opened", "Shopee MY", "Asia/Kuala_Lumpur")
        smtp = Smtp(None, 25, None, None, False, None, 5)
        strict = Sender(timeout=2, allow_private=False)
        try:
            refused = await ChannelSender(strict, smtp).send(channel, notice, "t-1")
        finally:
            await strict.close()
        assert refused.ok is False
        assert refused.error is not None
        assert refused.error.startswith("refused: host 127.0.0.1")
        assert receiver.to("/slack") == []
        allowed = Sender(timeout=2, allow_private=True)
        try:
            sent = await ChannelSender(allowed, smtp).send(channel, notice, "t-2")
        finally:
            await allowed.close()
        assert sent.ok is True
        assert len(receiver.to("/slack")) == 1


class TestManagement:
    async def test_fields_each_kind_needs(self, client, admin_headers, receiver):
        async def refused(**fields: Any) -> str:
            answer = await client.post(
                "/api/alert-channels", json={"name": "x", **fields}, headers=admin_headers
            )
            assert answer.status_code == 422, answer.text
            return str(answer.json())

        assert "needs its webhook URL" in await refused(kind="slack")
        assert "needs recipients" in await refused(kind="email")
        assert "takes no URL" in await refused(
            kind="email", recipients=["a@b.co"], url=f"{receiver.base}/x"
        )
        assert "signing secret" in await refused(
            kind="slack", url=f"{receiver.base}/x", secret="SECx"
        )
        assert "not an email address" in await refused(kind="email", recipients=["nobody"])
        assert "http://" in await refused(kind="slack", url="ftp://example.com/x")

    async def test_update_keeps_the_masked_url_and_audits(
        self, db, client, admin_headers, receiver
    ):
        made = await add_channel(
            client, admin_headers, name="S", kind="slack", url=f"{receiver.base}/services/T1/B2/tok"
        )
        assert made["url"] == f"{receiver.base}/services/T1/B2/***"
        changed = await client.patch(
            f"/api/alert-channels/{made['id']}",
            json={"url": made["url"], "language": "zh", "min_severity": "critical"},
            headers=admin_headers,
        )
        assert changed.status_code == 200, changed.text
        stored = await db.fetchrow("SELECT url, language, min_severity FROM alert_channel")
        assert tuple(stored) == (f"{receiver.base}/services/T1/B2/tok", "zh", "critical")
        actions = await db.fetch("SELECT action, after FROM audit_entry ORDER BY id")
        assert [a["action"] for a in actions] == ["alert_channel.create", "alert_channel.update"]
        assert "tok" not in str([dict(a) for a in actions]).replace("token", "")
        deleted = await client.delete(f"/api/alert-channels/{made['id']}", headers=admin_headers)
        assert deleted.status_code == 204
        assert await db.fetchval("SELECT count(*) FROM alert_channel") == 0

    async def test_the_test_button_shows_the_receivers_answer(
        self, client, admin_headers, receiver
    ):
        receiver.plans["/slack"].body = b"ok from slack"
        made = await add_channel(
            client, admin_headers, name="S", kind="slack", url=f"{receiver.base}/slack"
        )
        answer = await client.post(f"/api/alert-channels/{made['id']}/test", headers=admin_headers)
        assert answer.status_code == 200
        tested = answer.json()
        assert (tested["ok"], tested["status_code"], tested["response_excerpt"]) == (
            True,
            200,
            "ok from slack",
        )
        assert tested["target"] == f"{receiver.base}/***"
        (sent,) = receiver.to("/slack")
        assert json.loads(sent.body)["text"].startswith(
            "[Postback] Test message: this alert channel works"
        )

    async def test_a_partners_key_cannot_see_channels(self, app, client, admin_headers):
        created = await create_tenant(app, "acme")
        key = {"Authorization": f"Bearer {created.secrets['api_key']}"}
        assert (await client.get("/api/alert-channels", headers=key)).status_code == 403
