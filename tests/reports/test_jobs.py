"""The report job end to end: a due report is answered as its owner and sent to a real HTTP
receiver on loopback (Slack's and the generic JSON format) and through a real SMTP server
(aiosmtpd); the message is checked line by line against a text written out here by hand
from the values sent. Two runs at once send each report once; a failure is kept in
last_error and the other reports still go; the command line sends what is due and refuses
a private address unless allowed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest

from postback.reports.jobs import send_due
from tests.alerting.smtp import SmtpServer
from tests.factories import create_user
from tests.reports.helpers import add_channel, ask, bearer, save, schedule, two_partners


@pytest.fixture
async def keys(app, db, client) -> dict[str, str]:
    return await two_partners(app, client)


def minute_now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def kl_local(moment: datetime) -> str:
    """A moment as Kuala Lumpur (UTC+8) reads it."""
    return f"{moment + timedelta(hours=8):%Y-%m-%d %H:%M} (Asia/Kuala_Lumpur)"


async def make_due(db, report_id: int) -> None:
    await db.execute(
        "UPDATE report_schedule SET next_run_at = now() - interval '1 minute' WHERE id = $1",
        report_id,
    )


async def run(app, now: datetime | None = None) -> Any:
    return await send_due(
        app.state.db.engine, app.state.channel_sender, app.state.settings, now=now
    )


async def scheduled(
    client, headers, question: str, title: str, channel_id: int, **fields: Any
) -> dict[str, Any]:
    saved = await save(client, headers, question, title)
    fields.setdefault("cadence", "daily")
    fields.setdefault("hour", 9)
    response = await schedule(client, headers, saved["id"], channel=channel_id, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


EN_TABLE = [
    "offer ID | offer           | payout (MYR)",
    "---------+-----------------+-------------",
    "9001     | Bravo Exclusive | 777.77",
    "1001     | Shopee MY       | 15.03",
    "2001     | Lazada MY       | 2.50",
]
# A Chinese character takes two columns: "offer 编号" is 10 wide, "佣金（MYR（令吉））" 19.
ZH_TABLE = [
    "offer 编号 | offer 名称      | 佣金（MYR（令吉））",
    "-----------+-----------------+--------------------",
    "9001       | Bravo Exclusive | 777.77",
    "1001       | Shopee MY       | 15.03",
    "2001       | Lazada MY       | 2.50",
]


class TestSending:
    async def test_a_slack_report_with_a_link(self, app, db, client, admin_headers, receiver, keys):
        channel = await add_channel(
            client, admin_headers, name="Ops", kind="slack", url=f"{receiver.base}/slack"
        )
        report = await scheduled(client, admin_headers, "payout by offer", "Payouts", channel["id"])
        await make_due(db, report["id"])
        interpretation = (await ask(client, admin_headers, "payout by offer"))["interpretation"]
        now = minute_now()
        sender = app.state.channel_sender
        sender.public_url = "https://postback.example"
        try:
            ran = await run(app, now)
        finally:
            sender.public_url = None
        assert (ran.sent, ran.failed) == (1, 0)
        (received,) = receiver.to("/slack")
        assert json.loads(received.body) == {
            "text": "\n".join(
                [
                    "[Postback] Daily report: Payouts",
                    interpretation,
                    "",
                    *EN_TABLE,
                    "",
                    f"Computed: {kl_local(now)}",
                    "See: https://postback.example/dashboard",
                ]
            )
        }
        row = await db.fetchrow("SELECT * FROM report_schedule WHERE id = $1", report["id"])
        assert row["last_error"] is None
        assert row["last_run_at"] is not None
        # Moved to tomorrow's 09:00 in Kuala Lumpur (01:00 UTC), counted from `now`.
        assert row["next_run_at"] > now
        assert row["next_run_at"] - now <= timedelta(days=1)
        assert (row["next_run_at"].astimezone(UTC).hour, row["next_run_at"].minute) == (1, 0)
        # Not due again: a second run sends nothing.
        assert (await run(app, now)).sent == 0
        assert len(receiver.to("/slack")) == 1

    async def test_a_partner_owned_question_runs_as_the_partner(
        self, app, db, client, admin_headers, receiver, keys
    ):
        """Scheduling is staff-only, but a partner's question kept in the table runs as the
        partner: only its own rows reach the channel."""
        channel = await add_channel(
            client, admin_headers, name="J", kind="webhook", url=f"{receiver.base}/json"
        )
        saved = await save(client, bearer(keys["acme"]), "payout by offer", "Acme's")
        await db.execute(
            "INSERT INTO report_schedule (saved_question_id, cadence, hour, channel_id,"
            " next_run_at) VALUES ($1, 'daily', 9, $2, now() - interval '1 minute')",
            saved["id"],
            channel["id"],
        )
        now = minute_now()
        assert (await run(app, now)).sent == 1
        (received,) = receiver.to("/json")
        body = json.loads(received.body)
        assert body["event"] == "report"
        assert body["channel"] == "J"
        assert body["title"] == "Acme's"
        assert body["rows"] == [["1001", "Shopee MY", "15.03"], ["2001", "Lazada MY", "2.50"]]
        assert body["row_count"] == 2
        assert body["computed_at"] == now.isoformat()
        assert "Bravo" not in received.body.decode()
        assert "777.77" not in received.body.decode()

    async def test_a_chinese_report_by_email(
        self, app, db, client, admin_headers, keys, smtp_server: SmtpServer
    ):
        channel = await add_channel(
            client, admin_headers, name="Mail", kind="email", recipients=["ops@example.com"]
        )
        report = await scheduled(
            client, admin_headers, "每个offer的佣金是多少", "佣金日报", channel["id"]
        )
        await make_due(db, report["id"])
        interpretation = (await ask(client, admin_headers, "每个offer的佣金是多少"))[
            "interpretation"
        ]
        now = minute_now()
        assert (await run(app, now)).sent == 1
        (envelope,) = smtp_server.messages
        assert envelope.rcpt_tos == ["ops@example.com"]
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert mail["Subject"] == "【Postback】每日报告：佣金日报"
        body = mail.get_body().get_content()  # type: ignore[union-attr]
        assert body.rstrip("\n") == "\n".join(
            [
                "【Postback】每日报告：佣金日报",
                interpretation,
                "",
                *ZH_TABLE,
                "",
                f"计算时间：{kl_local(now)}",
            ]
        )

    async def test_at_most_twenty_rows(self, app, db, client, admin_headers, receiver, keys):
        for n in range(25):
            await client.get(
                "/postback/",
                params={
                    "conversion_id": f"MANY-{n}",
                    "ts_token": "tok-acme",
                    "offer_id": f"{3000 + n}",
                    "offer_name": f"Offer {n:02d}",
                    "myr_payout": f"{n + 1}.00",
                    "datetime_conversion": "2026-11-20 10:15:00",
                },
            )
        channel = await add_channel(
            client, admin_headers, name="S", kind="slack", url=f"{receiver.base}/many"
        )
        report = await scheduled(
            client,
            admin_headers,
            "payout by offer",
            "Many",
            channel["id"],
            cadence="weekly",
            weekday=0,
        )
        await make_due(db, report["id"])
        assert (await run(app)).sent == 1
        text = json.loads(receiver.to("/many")[0].body)["text"]
        assert text.startswith("[Postback] Weekly report: Many\n")
        table_rows = [line for line in text.split("\n") if " | " in line][1:]
        assert len(table_rows) == 20
        assert "(the first 20 of 28 rows)" in text


class TestTwoRunsAtOnce:
    async def test_each_report_is_sent_once(self, app, db, client, admin_headers, receiver, keys):
        channel = await add_channel(
            client, admin_headers, name="S", kind="slack", url=f"{receiver.base}/once"
        )
        saved = await save(client, admin_headers, "payout by offer", "Once")
        count = 12
        for _ in range(count):
            made = await schedule(
                client, admin_headers, saved["id"], cadence="daily", hour=9, channel=channel["id"]
            )
            assert made.status_code == 201
        await db.execute("UPDATE report_schedule SET next_run_at = now() - interval '1 minute'")
        results = await asyncio.gather(run(app), run(app), run(app))
        assert sum(r.sent for r in results) == count
        assert sum(r.failed for r in results) == 0
        assert len(receiver.to("/once")) == count
        rows = await db.fetch("SELECT last_run_at, next_run_at FROM report_schedule")
        assert all(
            r["last_run_at"] is not None and r["next_run_at"] > r["last_run_at"] for r in rows
        )


class TestFailures:
    async def test_a_failure_is_kept_and_the_others_still_go(
        self, app, db, client, admin_headers, receiver, keys
    ):
        receiver.plans["/down"].statuses = [500]
        down = await add_channel(
            client, admin_headers, name="Down", kind="slack", url=f"{receiver.base}/down"
        )
        up = await add_channel(
            client, admin_headers, name="Up", kind="slack", url=f"{receiver.base}/up"
        )
        paused = await add_channel(
            client,
            admin_headers,
            name="Paused",
            kind="slack",
            url=f"{receiver.base}/paused",
            enabled=False,
        )
        failing = await scheduled(client, admin_headers, "payout by offer", "F", down["id"])
        working = await scheduled(client, admin_headers, "payout by offer", "W", up["id"])
        held = await scheduled(client, admin_headers, "payout by offer", "P", paused["id"])
        for report in (failing, working, held):
            await make_due(db, report["id"])
        now = minute_now()
        ran = await run(app, now)
        assert (ran.sent, ran.failed) == (1, 2)
        assert len(receiver.to("/down")) == 1
        assert len(receiver.to("/up")) == 1
        assert receiver.to("/paused") == []
        rows = {
            r["id"]: r
            for r in await db.fetch(
                "SELECT id, last_error, last_run_at, next_run_at FROM report_schedule"
            )
        }
        assert "500" in rows[failing["id"]]["last_error"]
        assert rows[working["id"]]["last_error"] is None
        assert rows[held["id"]]["last_error"] == "the alert channel 'Paused' is paused"
        for row in rows.values():
            assert row["last_run_at"] is not None
            assert row["next_run_at"] > now
        listed = (await client.get("/api/reports", headers=admin_headers)).json()["items"]
        assert {r["id"]: r["last_error"] for r in listed} == {
            k: v["last_error"] for k, v in rows.items()
        }

    async def test_a_disabled_owner_sends_nothing(
        self, app, db, client, admin_headers, receiver, keys
    ):
        import httpx

        from tests.accounts.helpers import csrf_header, sign_in

        channel = await add_channel(
            client, admin_headers, name="S", kind="slack", url=f"{receiver.base}/owner"
        )
        user_id = await create_user(app, "analyst@agency.test", "analyst")
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await sign_in(http, "analyst@agency.test")).status_code == 303
            report = await scheduled(
                http, await csrf_header(http), "payout by offer", "Analyst's", channel["id"]
            )
        await db.execute("UPDATE app_user SET disabled_at = now() WHERE id = $1", user_id)
        await make_due(db, report["id"])
        assert (await run(app)).failed == 1
        assert receiver.to("/owner") == []
        error = await db.fetchval(
            "SELECT last_error FROM report_schedule WHERE id = $1", report["id"]
        )
        assert "owner may no longer ask" in error
        # Enabled again, it sends.
        await db.execute("UPDATE app_user SET disabled_at = NULL WHERE id = $1", user_id)
        await make_due(db, report["id"])
        assert (await run(app)).sent == 1
        assert len(receiver.to("/owner")) == 1


class TestCommand:
    async def test_send_due_refuses_a_private_address_unless_allowed(
        self, app, db, client, admin_headers, receiver, keys, cli
    ):
        """The command runs with the environment's settings, where this network's addresses
        are not allowed: the receiver on loopback gets nothing and the refusal is kept."""
        channel = await add_channel(
            client, admin_headers, name="S", kind="slack", url=f"{receiver.base}/cli"
        )
        report = await scheduled(client, admin_headers, "payout by offer", "CLI", channel["id"])
        await make_due(db, report["id"])
        result = await cli("reports", "send-due")
        assert result.code == 1, result.stderr
        assert "0 reports sent, 1 failed" in result.stdout
        assert receiver.to("/cli") == []
        error = await db.fetchval(
            "SELECT last_error FROM report_schedule WHERE id = $1", report["id"]
        )
        assert "127.0.0.1" in error or "private" in error or "loopback" in error
        again = await cli("reports", "send-due")
        assert (again.code, again.stdout.strip()) == (0, "0 reports sent, 0 failed")

    @pytest.fixture
    def allowed(self, monkeypatch, smtp_server: SmtpServer) -> SmtpServer:
        """The command's environment: this network's addresses allowed, and the test's SMTP
        server (set before `cli` reads the environment)."""
        monkeypatch.setenv("POSTBACK_FORWARD_ALLOW_PRIVATE", "true")
        monkeypatch.setenv("POSTBACK_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("POSTBACK_SMTP_PORT", str(smtp_server.port))
        monkeypatch.setenv("POSTBACK_SMTP_STARTTLS", "false")
        monkeypatch.setenv("POSTBACK_SMTP_FROM", "reports@postback.test")
        return smtp_server

    async def test_send_due_sends_to_a_webhook_and_by_email(
        self, app, db, client, admin_headers, receiver, keys, allowed, cli
    ):
        hook = await add_channel(
            client, admin_headers, name="S", kind="slack", url=f"{receiver.base}/cli-ok"
        )
        mail = await add_channel(
            client, admin_headers, name="M", kind="email", recipients=["ops@example.com"]
        )
        for channel in (hook, mail):
            report = await scheduled(
                client, admin_headers, "payout by offer", "By command", channel["id"]
            )
            await make_due(db, report["id"])
        result = await cli("reports", "send-due")
        assert (result.code, result.stdout.strip()) == (0, "2 reports sent, 0 failed"), result
        (received,) = receiver.to("/cli-ok")
        text = json.loads(received.body)["text"]
        assert text.startswith("[Postback] Daily report: By command\n")
        for line in EN_TABLE:
            assert line in text.split("\n")
        (envelope,) = allowed.messages
        assert envelope.mail_from == "reports@postback.test"
        body = message_from_bytes(envelope.content, policy=policy.default).get_body()
        assert body is not None
        assert body.get_content().split("\n")[3:8] == EN_TABLE


class TestPeriodsReadAtEachRun:
    async def test_the_last_7_days_are_the_7_days_before_the_run(
        self, app, db, client, admin_headers, receiver, keys
    ):
        """The conversions were sent two days ago: a run now finds them, a run ten days on
        finds none, and says which days it read."""
        channel = await add_channel(
            client, admin_headers, name="S", kind="slack", url=f"{receiver.base}/week"
        )
        question = "payout by offer in the last 7 days"
        report = await scheduled(client, admin_headers, question, "Week", channel["id"])
        texts = []
        for later in (timedelta(0), timedelta(days=10)):
            await make_due(db, report["id"])
            moment = minute_now() + later
            assert (await run(app, moment)).sent == 1
            texts.append(json.loads(receiver.to("/week")[-1].body)["text"])
            today = (moment + timedelta(hours=8)).date()
            window = f"{today - timedelta(days=6)} 00:00 to {today + timedelta(days=1)} 00:00"
            assert window in texts[-1]
        assert "777.77" in texts[0]
        assert "(no rows)" in texts[1]
        assert "777.77" not in texts[1]
