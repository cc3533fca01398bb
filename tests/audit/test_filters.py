"""`GET /api/audit` filters and pages: entries written straight into the table (so each
filter's answer is computed here, over the same rows, without the code under test)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.audit.helpers import ADMIN
from tests.factories import create_tenant

START = datetime(2026, 11, 1, tzinfo=UTC)
ACTIONS = [
    "tenant.create",
    "tenant.update",
    "tenant.rotate_secret",
    "forward.create",
    "forward.update",
    "forward.delete",
    "delivery.resend",
    "rejection.replay",
    "rejection.replay_bulk",
]
ACTORS = [("admin_token", "admin token"), ("cli", "ops"), ("user", "mei@example.com")]


@pytest.fixture
async def rows(app, db) -> list[dict[str, Any]]:
    """60 entries over 30 days, for two partners and none, by three actors."""
    acme = (await create_tenant(app, "acme")).tenant.id
    bravo = (await create_tenant(app, "bravo")).tenant.id
    await db.execute("TRUNCATE audit_entry RESTART IDENTITY")
    pick = random.Random(18)
    made = []
    for number in range(60):
        kind, label = pick.choice(ACTORS)
        action = pick.choice(ACTIONS)
        target_kind = action.split(".")[0]
        made.append(
            {
                "created_at": START + timedelta(hours=12 * number + pick.randint(0, 11)),
                "actor_kind": kind,
                "actor_label": label,
                "actor_user_id": 7 if kind == "user" else None,
                "action": action,
                "target_kind": target_kind,
                "target_id": str(pick.randint(1, 4)),
                "tenant_id": pick.choice([acme, bravo, None]),
            }
        )
    # Ids in a different order from the times: the log is newest first by id.
    pick.shuffle(made)
    for row in made:
        row["id"] = await db.fetchval(
            "INSERT INTO audit_entry (created_at, actor_kind, actor_label, actor_user_id,"
            " action, target_kind, target_id, tenant_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            *(row[k] for k in list(row)),
        )
        row["slug"] = {acme: "acme", bravo: "bravo"}.get(row["tenant_id"])
    return made


async def listed(client, **params: Any) -> list[int]:
    """Every id the API gives for `params`, page after page."""
    ids: list[int] = []
    before_id = None
    while True:
        query = {**params, "limit": 7} | ({"before_id": before_id} if before_id else {})
        response = await client.get("/api/audit", params=query, headers=ADMIN)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 7
        ids += [item["id"] for item in body["items"]]
        before_id = body["next_before_id"]
        if before_id is None:
            return ids


def expected(rows: list[dict[str, Any]], keep: Any) -> list[int]:
    return sorted((row["id"] for row in rows if keep(row)), reverse=True)


class TestFilters:
    async def test_no_filter_pages_through_everything_newest_first(self, client, rows):
        assert await listed(client) == expected(rows, lambda r: True)

    async def test_tenant(self, client, rows):
        assert await listed(client, tenant="bravo") == expected(
            rows, lambda r: r["slug"] == "bravo"
        )

    async def test_actor(self, client, rows):
        for _, label in ACTORS:
            found = await listed(client, actor=label)
            assert found == expected(rows, lambda r, label=label: r["actor_label"] == label)

    @pytest.mark.parametrize("prefix", ["forward.", "tenant.rotate", "rejection.replay", "x"])
    async def test_action_prefix(self, client, rows, prefix):
        found = await listed(client, action=prefix)
        assert found == expected(rows, lambda r: r["action"].startswith(prefix))

    async def test_an_action_prefix_is_not_a_pattern(self, client, rows):
        assert await listed(client, action="%") == []
        assert await listed(client, action="tenant_") == []

    async def test_target(self, client, rows):
        assert await listed(client, target="forward") == expected(
            rows, lambda r: r["target_kind"] == "forward"
        )
        assert await listed(client, target="delivery:3") == expected(
            rows, lambda r: (r["target_kind"], r["target_id"]) == ("delivery", "3")
        )

    async def test_since_and_until(self, client, rows, settings):
        since = datetime(2026, 11, 5, 8, 30, tzinfo=UTC)
        until = datetime(2026, 11, 20, tzinfo=UTC)
        found = await listed(client, since=since.isoformat(), until=until.isoformat())
        assert found == expected(rows, lambda r: since <= r["created_at"] < until)
        # A date alone is midnight in the reporting timezone.
        zone = ZoneInfo(settings.timezone)
        day = datetime(2026, 11, 10, tzinfo=zone)
        found = await listed(client, since="2026-11-10")
        assert found == expected(rows, lambda r: r["created_at"] >= day)

    async def test_filters_together(self, client, rows):
        found = await listed(client, tenant="acme", action="forward.", actor="ops")
        assert found == expected(
            rows,
            lambda r: (
                r["slug"] == "acme"
                and r["action"].startswith("forward.")
                and r["actor_label"] == "ops"
            ),
        )


class TestRefusals:
    @pytest.mark.parametrize(
        ("params", "field", "status"),
        [
            ({"actions": "tenant."}, "actions", 422),
            ({"tenant_id": "1"}, "tenant_id", 422),
            ({"since": "yesterday"}, "since", 422),
            ({"until": "2026-13-01"}, "until", 422),
            ({"limit": "0"}, "limit", 422),
            ({"limit": "501"}, "limit", 422),
            ({"before_id": "abc"}, "before_id", 422),
            ({"target": ":3"}, "target", 422),
            ({"action": "a\x00b"}, "action", 422),
            ({"tenant": "nobody"}, "tenant", 404),
        ],
    )
    async def test_bad_filters_are_named(self, client, rows, params, field, status):
        response = await client.get("/api/audit", params=params, headers=ADMIN)
        assert response.status_code == status, response.text
        assert [e["field"] for e in response.json()["errors"]] == [field]

    async def test_a_filter_given_twice(self, client, rows):
        response = await client.get("/api/audit?action=a&action=b", headers=ADMIN)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "action"

    async def test_no_token(self, client, rows):
        assert (await client.get("/api/audit")).status_code == 401
