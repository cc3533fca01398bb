"""`/api/saved-questions` and `/api/reports`: saving a conversation's question, listing,
renaming, moving, removing and answering it; each asker sees and runs only its own (another
partner's, another user's, even the admin's own id answers 404); scheduling is for the
agency's staff, and bad input is refused naming the field.

Rows are real postbacks; the expected sums are added up by hand from the values sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.accounts.helpers import csrf_header, sign_in
from tests.factories import create_user
from tests.fixtures import ADMIN_TOKEN
from tests.reports.helpers import (
    add_channel,
    ask,
    bearer,
    payouts_by_offer,
    save,
    schedule,
    two_partners,
)

ACME_PAYOUTS = {"Shopee MY": "15.03", "Lazada MY": "2.50"}  # 5.01 + 10.02; 2.50


@pytest.fixture
async def keys(app, db, client) -> dict[str, str]:
    return await two_partners(app, client)


def field_of(response: httpx.Response) -> str:
    field: str = response.json()["errors"][0]["field"]
    return field


class TestSaving:
    async def test_save_list_and_answer(self, client, admin_headers, keys):
        saved = await save(client, admin_headers, "payout by offer", "Payout by offer")
        assert saved["title"] == "Payout by offer"
        assert saved["question"] == "payout by offer"
        assert (saved["language"], saved["position"]) == ("en", 0)
        second = await save(client, admin_headers, "每个offer的佣金是多少", "  佣金  ")
        assert (second["title"], second["language"], second["position"]) == ("佣金", "zh", 1)

        listed = (await client.get("/api/saved-questions", headers=admin_headers)).json()
        assert [q["id"] for q in listed["items"]] == [saved["id"], second["id"]]

        answered = await client.post(
            f"/api/saved-questions/{saved['id']}/answer", headers=admin_headers
        )
        assert answered.status_code == 200, answered.text
        body = answered.json()
        asked = await ask(client, admin_headers, "payout by offer")
        assert {k: body[k] for k in ("columns", "headers", "units", "chart", "rows")} == {
            k: asked[k] for k in ("columns", "headers", "units", "chart", "rows")
        }
        # The admin sees both partners.
        assert payouts_by_offer(body) == {**ACME_PAYOUTS, "Bravo Exclusive": "777.77"}
        assert body["conversation"] is None

    async def test_rename_move_and_delete(self, client, admin_headers, keys):
        first = await save(client, admin_headers, "payout by offer", "One")
        second = await save(client, admin_headers, "sales by offer", "Two")
        renamed = await client.patch(
            f"/api/saved-questions/{first['id']}",
            json={"title": "Payouts", "position": 5},
            headers=admin_headers,
        )
        assert renamed.status_code == 200, renamed.text
        assert (renamed.json()["title"], renamed.json()["position"]) == ("Payouts", 5)
        listed = (await client.get("/api/saved-questions", headers=admin_headers)).json()
        assert [q["title"] for q in listed["items"]] == ["Two", "Payouts"]

        gone = await client.delete(f"/api/saved-questions/{second['id']}", headers=admin_headers)
        assert gone.status_code == 204
        listed = (await client.get("/api/saved-questions", headers=admin_headers)).json()
        assert [q["id"] for q in listed["items"]] == [first["id"]]
        again = await client.post(
            f"/api/saved-questions/{second['id']}/answer", headers=admin_headers
        )
        assert again.status_code == 404
        assert field_of(again) == "saved_question_id"

    async def test_changes_are_audited(self, client, db, admin_headers, keys):
        saved = await save(client, admin_headers, "payout by offer", "Audited")
        await client.patch(
            f"/api/saved-questions/{saved['id']}", json={"title": "New"}, headers=admin_headers
        )
        await client.delete(f"/api/saved-questions/{saved['id']}", headers=admin_headers)
        actions = await db.fetch(
            "SELECT action, actor_label FROM audit_entry WHERE target_kind = 'saved_question'"
            " ORDER BY id"
        )
        assert [(a["action"], a["actor_label"]) for a in actions] == [
            ("saved_question.create", "admin token"),
            ("saved_question.update", "admin token"),
            ("saved_question.delete", "admin token"),
        ]


class TestIsolation:
    async def test_a_partner_tile_shows_only_its_own_data(self, client, admin_headers, keys):
        acme, bravo = bearer(keys["acme"]), bearer(keys["bravo"])
        saved = await save(client, acme, "payout by offer", "Mine")
        answered = await client.post(f"/api/saved-questions/{saved['id']}/answer", headers=acme)
        assert answered.status_code == 200, answered.text
        assert payouts_by_offer(answered.json()) == ACME_PAYOUTS
        assert "777.77" not in answered.text

        assert (await client.get("/api/saved-questions", headers=bravo)).json() == {"items": []}
        for headers in (bravo, admin_headers):
            for method, path, body in [
                ("POST", f"/api/saved-questions/{saved['id']}/answer", None),
                ("PATCH", f"/api/saved-questions/{saved['id']}", {"title": "Stolen"}),
                ("DELETE", f"/api/saved-questions/{saved['id']}", None),
            ]:
                response = await client.request(method, path, json=body, headers=headers)
                assert response.status_code == 404, (method, path, response.text)
                assert "Mine" not in response.text
        still = (await client.get("/api/saved-questions", headers=acme)).json()["items"]
        assert [(q["id"], q["title"]) for q in still] == [(saved["id"], "Mine")]

    async def test_a_conversation_is_saved_only_by_its_asker(self, client, keys):
        asked = await ask(client, bearer(keys["acme"]), "payout by offer")
        response = await client.post(
            "/api/saved-questions",
            json={"conversation": asked["conversation"], "title": "Not mine"},
            headers=bearer(keys["bravo"]),
        )
        assert response.status_code == 404
        assert field_of(response) == "conversation"

    async def test_two_users_of_one_partner_keep_their_own(self, app, keys):
        await create_user(app, "one@acme.test", "partner", partner="acme")
        await create_user(app, "two@acme.test", "partner", partner="acme")
        browsers = []
        for email in ("one@acme.test", "two@acme.test"):
            transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 40000))
            http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            assert (await sign_in(http, email)).status_code == 303
            browsers.append((http, await csrf_header(http)))
        try:
            (one, one_csrf), (two, two_csrf) = browsers
            saved = await save(one, one_csrf, "payout by offer", "One's")
            mine = await one.post(f"/api/saved-questions/{saved['id']}/answer", headers=one_csrf)
            assert payouts_by_offer(mine.json()) == ACME_PAYOUTS
            theirs = await two.post(f"/api/saved-questions/{saved['id']}/answer", headers=two_csrf)
            assert theirs.status_code == 404
            assert (await two.get("/api/saved-questions")).json() == {"items": []}
            # Nor does the partner's API key see its user's tiles: another asker.
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as key:
                listed = await key.get("/api/saved-questions", headers=bearer(keys["acme"]))
                assert listed.json() == {"items": []}
            # A browser without its CSRF token changes nothing.
            refused = await one.delete(f"/api/saved-questions/{saved['id']}")
            assert refused.status_code == 403
            assert field_of(refused) == "csrf"
        finally:
            for http, _ in browsers:
                await http.aclose()


class TestBadInput:
    async def test_fields_named(self, client, admin_headers, keys):
        asked = await ask(client, admin_headers, "payout by offer")
        for body, field in [
            ({"conversation": asked["conversation"], "title": ""}, "title"),
            ({"conversation": asked["conversation"], "title": "x" * 121}, "title"),
            ({"conversation": asked["conversation"]}, "title"),
            ({"conversation": "not-a-uuid", "title": "t"}, "conversation"),
            ({"conversation": asked["conversation"], "title": "t", "extra": 1}, "extra"),
        ]:
            response = await client.post("/api/saved-questions", json=body, headers=admin_headers)
            assert response.status_code == 422, (body, response.text)
            assert field_of(response) == field, response.text
        unknown = await client.post(
            "/api/saved-questions",
            json={"conversation": "00000000-0000-4000-8000-000000000000", "title": "t"},
            headers=admin_headers,
        )
        assert (unknown.status_code, field_of(unknown)) == (404, "conversation")

        saved = await save(client, admin_headers, "payout by offer", "t")
        for body, field in [
            ({"title": None}, "title"),
            ({"position": -1}, "position"),
            ({"title": "a\x00b"}, "title"),
        ]:
            response = await client.patch(
                f"/api/saved-questions/{saved['id']}", json=body, headers=admin_headers
            )
            assert response.status_code == 422, (body, response.text)
            assert field_of(response) == field, response.text
        huge = await client.post("/api/saved-questions/99999999999999999999/answer")
        assert huge.status_code in (401, 422)


def kl_next(hour: int, now: datetime, weekday: int | None = None) -> datetime:
    """The next `hour`:00 in Kuala Lumpur (UTC+8 all year, no clock changes) after `now`, on
    `weekday` when given: counted in whole days from today's midnight there."""
    local = now + timedelta(hours=8)
    midnight = datetime(local.year, local.month, local.day, tzinfo=UTC) - timedelta(hours=8)
    for days in range(8):
        moment = midnight + timedelta(days=days, hours=hour)
        if moment > now and (weekday is None or (local.weekday() + days) % 7 == weekday):
            return moment
    raise AssertionError


class TestSchedules:
    @pytest.fixture
    async def channel(self, client, admin_headers) -> dict[str, Any]:
        return await add_channel(
            client, admin_headers, name="Ops", kind="slack", url="http://127.0.0.1:9/hook"
        )

    async def test_schedule_list_pause_resume_delete(self, client, db, admin_headers, channel):
        saved = await save(client, admin_headers, "payout by offer", "Payouts")
        before = datetime.now(UTC)
        created = await schedule(
            client,
            admin_headers,
            saved["id"],
            cadence="weekly",
            weekday=2,
            hour=9,
            channel=channel["id"],
        )
        after = datetime.now(UTC)
        assert created.status_code == 201, created.text
        report = created.json()
        assert report["timezone"] == "Asia/Kuala_Lumpur"
        assert (report["cadence"], report["weekday"], report["hour"]) == ("weekly", 2, 9)
        assert (report["channel"], report["title"], report["enabled"]) == ("Ops", "Payouts", True)
        next_at = datetime.fromisoformat(report["next_run_at"])
        assert next_at in {kl_next(9, before, 2), kl_next(9, after, 2)}
        assert datetime.fromisoformat(report["next_run_at"]).astimezone(UTC).hour == 1

        daily = await schedule(
            client, admin_headers, saved["id"], cadence="daily", hour=23, channel=channel["id"]
        )
        assert daily.status_code == 201, daily.text
        assert datetime.fromisoformat(daily.json()["next_run_at"]) in {
            kl_next(23, before),
            kl_next(23, datetime.now(UTC)),
        }
        listed = (await client.get("/api/reports", headers=admin_headers)).json()["items"]
        assert [r["id"] for r in listed] == [report["id"], daily.json()["id"]]

        paused = await client.patch(
            f"/api/reports/{report['id']}", json={"enabled": False}, headers=admin_headers
        )
        assert paused.status_code == 200
        assert paused.json()["enabled"] is False
        await db.execute(
            "UPDATE report_schedule SET next_run_at = now() - interval '3 days' WHERE id = $1",
            report["id"],
        )
        resumed = await client.patch(
            f"/api/reports/{report['id']}", json={"enabled": True}, headers=admin_headers
        )
        assert resumed.json()["enabled"] is True
        # Resumed: its next run counted from now, not the stale one.
        assert datetime.fromisoformat(resumed.json()["next_run_at"]) > datetime.now(UTC)

        gone = await client.delete(f"/api/reports/{report['id']}", headers=admin_headers)
        assert gone.status_code == 204
        listed = (await client.get("/api/reports", headers=admin_headers)).json()["items"]
        assert [r["id"] for r in listed] == [daily.json()["id"]]
        # Removing the question removes its reports.
        await client.delete(f"/api/saved-questions/{saved['id']}", headers=admin_headers)
        assert (await client.get("/api/reports", headers=admin_headers)).json() == {"items": []}

    async def test_bad_input_names_the_field(self, client, admin_headers, channel, keys):
        saved = await save(client, admin_headers, "payout by offer", "Payouts")
        for body, status, field in [
            ({"cadence": "weekly", "hour": 9, "channel": channel["id"]}, 422, "weekday"),
            (
                {"cadence": "daily", "weekday": 1, "hour": 9, "channel": channel["id"]},
                422,
                "weekday",
            ),
            (
                {"cadence": "weekly", "weekday": 7, "hour": 9, "channel": channel["id"]},
                422,
                "weekday",
            ),
            ({"cadence": "daily", "hour": 24, "channel": channel["id"]}, 422, "hour"),
            ({"cadence": "daily", "hour": -1, "channel": channel["id"]}, 422, "hour"),
            ({"cadence": "hourly", "hour": 1, "channel": channel["id"]}, 422, "cadence"),
            ({"cadence": "daily", "hour": 9, "channel": channel["id"] + 1000}, 422, "channel"),
            ({"cadence": "daily", "hour": 9}, 422, "channel"),
        ]:
            response = await schedule(client, admin_headers, saved["id"], **body)
            assert response.status_code == status, (body, response.text)
            assert field_of(response) == field, (body, response.text)
        missing = await schedule(
            client,
            admin_headers,
            saved["id"] + 1000,
            cadence="daily",
            hour=9,
            channel=channel["id"],
        )
        assert (missing.status_code, field_of(missing)) == (404, "saved_question_id")

    async def test_partners_do_not_schedule(self, client, admin_headers, channel, keys):
        acme = bearer(keys["acme"])
        saved = await save(client, acme, "payout by offer", "Mine")
        refused = await schedule(
            client, acme, saved["id"], cadence="daily", hour=9, channel=channel["id"]
        )
        assert refused.status_code == 403
        error = refused.json()["errors"][0]
        assert error["field"] == "authorization"
        assert "admin or an analyst" in error["message"]
        for method, path in [("GET", "/api/reports"), ("GET", "/api/reports/channels")]:
            response = await client.request(method, path, headers=acme)
            assert (response.status_code, field_of(response)) == (403, "authorization")

    async def test_a_report_is_its_owners(self, app, client, admin_headers, channel, keys):
        saved = await save(client, admin_headers, "payout by offer", "Admin's")
        report = (
            await schedule(
                client, admin_headers, saved["id"], cadence="daily", hour=9, channel=channel["id"]
            )
        ).json()
        await create_user(app, "analyst@agency.test", "analyst")
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await sign_in(http, "analyst@agency.test")).status_code == 303
            csrf = await csrf_header(http)
            assert (await http.get("/api/reports")).json() == {"items": []}
            for method, body in [("PATCH", {"enabled": False}), ("DELETE", None)]:
                response = await http.request(
                    method, f"/api/reports/{report['id']}", json=body, headers=csrf
                )
                assert (response.status_code, field_of(response)) == (404, "report_id")
            stolen = await schedule(
                http, csrf, saved["id"], cadence="daily", hour=9, channel=channel["id"]
            )
            assert stolen.status_code == 404
            # The analyst schedules its own, and picks the channel by name.
            channels = (await http.get("/api/reports/channels")).json()["items"]
            assert channels == [
                {
                    "id": channel["id"],
                    "name": "Ops",
                    "kind": "slack",
                    "language": "en",
                    "enabled": True,
                }
            ]
            own = await save(http, csrf, "payout by offer", "Analyst's")
            made = await schedule(
                http, csrf, own["id"], cadence="daily", hour=9, channel=channel["id"]
            )
            assert made.status_code == 201, made.text
        listed = (await client.get("/api/reports", headers=admin_headers)).json()["items"]
        assert [r["id"] for r in listed] == [report["id"]]

    async def test_admin_token_is_its_own_asker(self, client, channel, keys):
        headers = bearer(ADMIN_TOKEN)
        saved = await save(client, headers, "payout by offer", "Token's")
        made = await schedule(
            client, headers, saved["id"], cadence="daily", hour=0, channel=channel["id"]
        )
        assert made.status_code == 201, made.text
