"""The dashboard's pages and data endpoints over HTTP: who may see what, ranges and their
previous periods, figures equal to /postback/stats, downloads and the live feed."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from postback.auth import ADMIN
from postback.dashboard import service
from postback.dashboard.schemas import RangeName
from tests.admin.conftest import sign_in as admin_sign_in
from tests.factories import create_tenant, postback

KL = ZoneInfo("Asia/Kuala_Lumpur")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
DATA = ["kpis", "series", "status", "currencies", "offers"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def local(days_ago: int = 0, hour: int = 10) -> str:
    """A conversion time `days_ago` days before today, in the reporting timezone."""
    moment = datetime.now(KL).replace(hour=hour, minute=15, second=0, microsecond=0)
    return (moment - timedelta(days=days_ago)).strftime("%Y-%m-%d %H:%M:%S")


def earlier_today(now: datetime | None = None) -> str:
    """A moment of today already past, in the reporting timezone: 00:15, or midnight itself
    in the first quarter hour of the day."""
    now = now or datetime.now(KL)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    moment = midnight + timedelta(minutes=15)
    if moment > now - timedelta(minutes=1):
        moment = midnight
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-12-03 00:05:00", "2026-12-03 00:00:00"),
        ("2026-12-03 00:15:30", "2026-12-03 00:00:00"),
        ("2026-12-03 00:17:00", "2026-12-03 00:15:00"),
        ("2026-12-03 23:59:00", "2026-12-03 00:15:00"),
    ],
)
def test_the_fixture_keeps_todays_postbacks_today(now, expected):
    moment = datetime.strptime(now, "%Y-%m-%d %H:%M:%S").replace(tzinfo=KL)
    assert earlier_today(moment) == expected


async def send(client: httpx.AsyncClient, conversion_id: str, **fields: Any) -> None:
    response = await client.get("/postback/", params=postback(conversion_id, **fields))
    assert response.status_code == 200, response.text


@pytest.fixture
async def partners(app, client) -> dict[str, str]:
    """Two partners with postbacks today, yesterday and a week ago; their API keys."""
    acme = await create_tenant(app, "acme", ts_token="tok-acme")
    other = await create_tenant(app, "other", ts_token="tok-other")
    earlier = earlier_today()
    await send(client, "A-1", ts_token="tok-acme", status="approved", datetime_conversion=earlier)
    await send(
        client, "A-2", ts_token="tok-acme", datetime_conversion=earlier, usd_sale_amount="10.05"
    )
    await send(
        client, "A-2", ts_token="tok-acme", status="rejected", datetime_conversion=earlier
    )  # duplicate, moves A-2
    await send(
        client,
        "A-3",
        ts_token="tok-acme",
        datetime_conversion=local(1),
        offer_id="2002",
        offer_name="Lazada MY",
        conversion_currency="USD",
    )
    await send(client, "A-4", ts_token="tok-acme", datetime_conversion=local(8))
    await send(client, "O-1", ts_token="tok-other", datetime_conversion=earlier, status="paid")
    bad = await client.get(
        "/postback/", params={"conversion_id": "X", "ts_token": "tok-acme", "usd_payout": "abc"}
    )
    assert bad.status_code == 422
    return {"acme": acme.secrets["api_key"], "other": other.secrets["api_key"]}


class TestSignIn:
    async def test_the_page_asks_to_sign_in(self, client, db):
        page = await client.get("/dashboard")
        assert page.status_code == 200
        assert 'action="/dashboard/login"' in page.text
        assert "script-src" not in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"

    async def test_partner_signs_in_with_its_api_key(self, client, partners):
        page = await client.get("/dashboard?lang=zh")
        csrf = CSRF.search(page.text).group(1)
        wrong = await client.post("/dashboard/login", data={"csrf_token": csrf, "api_key": "nope"})
        assert wrong.status_code == 401
        assert "API 密钥无效" in wrong.text
        signed = await client.post(
            "/dashboard/login", data={"csrf_token": csrf, "api_key": partners["acme"]}
        )
        assert signed.status_code == 303
        page = await client.get("/dashboard")
        assert 'id="kpis"' in page.text
        assert 'id="tenant"' not in page.text  # no partner picker for a partner
        # Its own data only, whatever it asks for.
        mine = await client.get("/dashboard/api/kpis", params={"tenant": "other"})
        assert mine.status_code == 200
        assert mine.json()["range"]["tenant"] == "acme"
        assert (await client.get("/dashboard/api/partners")).status_code == 403

    async def test_a_rotated_key_signs_the_partner_out(self, db, client, partners, admin_headers):
        page = await client.get("/dashboard")
        csrf = CSRF.search(page.text).group(1)
        await client.post(
            "/dashboard/login", data={"csrf_token": csrf, "api_key": partners["acme"]}
        )
        assert (await client.get("/dashboard/api/kpis")).status_code == 200
        tenant_id = await db.fetchval("SELECT id FROM tenant WHERE slug = 'acme'")
        rotated = await client.post(
            f"/api/tenants/{tenant_id}/rotate", json={"kind": "api_key"}, headers=admin_headers
        )
        assert rotated.status_code == 200, rotated.text
        assert (await client.get("/dashboard/api/kpis")).status_code == 401

    async def test_form_without_csrf_is_refused(self, client, partners):
        response = await client.post("/dashboard/login", data={"api_key": partners["acme"]})
        assert response.status_code == 403

    async def test_admin_session_sees_every_partner(self, client, partners):
        assert (await admin_sign_in(client)).status_code == 303
        page = await client.get("/dashboard")
        assert 'id="tenant"' in page.text
        assert 'value="other"' in page.text
        table = await client.get("/dashboard/api/partners", params={"range": "30d"})
        assert {r["slug"] for r in table.json()["rows"]} == {"acme", "other"}

    @pytest.mark.parametrize(
        "path", [f"/dashboard/api/{p}" for p in DATA] + ["/dashboard/api/feed"]
    )
    async def test_data_needs_a_principal(self, client, db, path):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.json()["errors"][0]["field"] == "authorization"


class TestFigures:
    @pytest.mark.parametrize("name", ["today", "yesterday", "7d", "30d"])
    @pytest.mark.parametrize("who", ["admin", "acme"])
    async def test_kpis_equal_stats_for_the_same_range(
        self, client, partners, admin_headers, name, who
    ):
        headers = admin_headers if who == "admin" else bearer(partners[who])
        kpis = await client.get("/dashboard/api/kpis", params={"range": name}, headers=headers)
        assert kpis.status_code == 200, kpis.text
        body = kpis.json()
        window = {"since": body["range"]["since"], "until": body["range"]["until"]}
        stats = (await client.get("/postback/stats", params=window, headers=headers)).json()
        value = {k["key"]: k["value"] for k in body["kpis"]}
        totals = stats["totals"]
        for key in ("conversions", "rejections"):
            assert value[key] == str(totals[key]), key
        for key in ("sales_usd", "sales_myr", "payouts_usd", "payouts_myr"):
            assert value[key] == totals[key], key
        statuses = (
            await client.get("/dashboard/api/status", params={"range": name}, headers=headers)
        ).json()["rows"]
        assert statuses == stats["by_status"]

    async def test_today_against_yesterday(self, client, partners, admin_headers):
        body = (
            await client.get(
                "/dashboard/api/kpis", params={"range": "today"}, headers=bearer(partners["acme"])
            )
        ).json()
        kpi = {k["key"]: k for k in body["kpis"]}
        # Today: A-1 approved, A-2 (moved to rejected by its duplicate); one rejection.
        assert kpi["conversions"]["value"] == "2"
        assert kpi["approval_rate"]["value"] == "50.0"
        assert kpi["duplicate_rate"]["value"] == "33.3"
        assert kpi["rejections"]["value"] == "1"
        assert kpi["sales_usd"]["value"] == "37.15"
        assert kpi["average_order_usd"]["value"] == "18.58"
        # Yesterday up to the same time: A-3 only when its hour (10:15) has passed.
        expected_previous = "1" if datetime.now(KL).strftime("%H:%M") > "10:15" else "0"
        assert kpi["conversions"]["previous"] == expected_previous
        assert kpi["approval_rate"]["change"] == "50.0"

    async def test_series_by_hour_and_by_day(self, client, partners, admin_headers):
        hourly = (
            await client.get(
                "/dashboard/api/series", params={"range": "yesterday"}, headers=admin_headers
            )
        ).json()
        assert hourly["range"]["grain"] == "hour"
        assert len(hourly["points"]) == 24
        assert sum(p["conversions"] for p in hourly["points"]) in (1, 2)
        daily = (
            await client.get(
                "/dashboard/api/series", params={"range": "30d"}, headers=admin_headers
            )
        ).json()
        assert daily["range"]["grain"] == "day"
        assert len(daily["points"]) == 30
        assert sum(p["conversions"] for p in daily["points"]) == 5

    async def test_currencies_and_offers(self, client, partners, admin_headers):
        params = {"range": "30d", "tenant": "acme"}
        currencies = (
            await client.get("/dashboard/api/currencies", params=params, headers=admin_headers)
        ).json()["rows"]
        assert [(r["currency"], r["conversions"]) for r in currencies] == [("MYR", 3), ("USD", 1)]
        offers = (
            await client.get("/dashboard/api/offers", params=params, headers=admin_headers)
        ).json()["rows"]
        assert [(r["offer_id"], r["offer_name"], r["conversions"]) for r in offers] == [
            ("1001", "Shopee MY", 3),
            ("2002", "Lazada MY", 1),
        ]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"range": "custom"}, "since"),
            ({"range": "custom", "since": "2026-11-02", "until": "2026-11-01"}, "until"),
            ({"range": "custom", "since": "2026-01-01", "until": "2027-06-01"}, "until"),
            ({"range": "custom", "since": "yesterday", "until": "2026-11-01"}, "since"),
            ({"range": "week"}, "range"),
            ({"tenant": "nobody"}, "tenant"),
        ],
    )
    async def test_bad_input_names_the_field(self, client, db, admin_headers, params, field):
        response = await client.get("/dashboard/api/kpis", params=params, headers=admin_headers)
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["errors"][0]["field"] == field


class TestRanges:
    async def test_previous_periods(self, app):
        now = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # 11:30 in Kuala Lumpur
        async with AsyncSession(app.state.db.engine) as session:

            async def scope(name: RangeName, **days: str) -> service.Scope:
                return await service.resolve(
                    session,
                    ADMIN,
                    name=name,
                    since=days.get("since"),
                    until=days.get("until"),
                    tenant=None,
                    default_zone=KL,
                    now=now,
                )

            today = await scope(RangeName.today)
            assert (today.start, today.end) == (datetime(2026, 11, 24, 16, tzinfo=UTC), now)
            assert today.previous_start == datetime(2026, 11, 23, 16, tzinfo=UTC)
            assert today.previous_end == now - timedelta(days=1)
            week = await scope(RangeName.last_7_days)
            assert week.first_day == date(2026, 11, 19)
            assert week.previous_start == datetime(2026, 11, 11, 16, tzinfo=UTC)
            custom = await scope(RangeName.custom, since="2026-11-01", until="2026-11-10")
            assert custom.end == datetime(2026, 11, 10, 16, tzinfo=UTC)
            assert custom.previous_start == datetime(2026, 10, 21, 16, tzinfo=UTC)
            assert custom.previous_end == custom.start
            assert custom.grain == "day"
            assert today.grain == "hour"


class TestDownloads:
    async def test_csv(self, client, partners, admin_headers):
        response = await client.get(
            "/dashboard/export/offers.csv",
            params={"range": "30d"},
            headers=admin_headers | {"Accept-Language": "zh-CN"},
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["推广活动 ID", "推广活动", "转化数"]
        assert rows[1][:3] == ["1001", "Shopee MY", "4"]

    async def test_xlsx(self, client, partners, admin_headers):
        response = await client.get(
            "/dashboard/export/partners.xlsx", params={"range": "30d"}, headers=admin_headers
        )
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:3] == ("Slug", "Name", "Conversions")
        assert {(r[0], r[2]) for r in rows[1:]} == {("acme", 4), ("other", 1)}

    async def test_a_partner_cannot_download_the_partner_table(self, client, partners):
        response = await client.get(
            "/dashboard/export/partners.csv", headers=bearer(partners["acme"])
        )
        assert response.status_code == 403

    async def test_unknown_table(self, client, db, admin_headers):
        response = await client.get("/dashboard/export/secrets.csv", headers=admin_headers)
        assert response.status_code == 422


class TestFeed:
    async def test_latest_postbacks_scoped_to_the_partner(self, client, partners):
        response = await client.get(
            "/dashboard/api/feed", params={"once": "true"}, headers=bearer(partners["other"])
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [e for e in response.text.split("\n\n") if "event: postback" in e]
        assert len(events) == 1
        assert '"conversion_id":"O-1"' in events[0]

    async def test_after_an_id(self, client, partners, admin_headers):
        first = await client.get(
            "/dashboard/api/feed", params={"once": "true"}, headers=admin_headers
        )
        ids = [int(line[4:]) for line in first.text.splitlines() if line.startswith("id: ")]
        assert ids == sorted(ids)
        assert len(ids) == 6
        later = await client.get(
            "/dashboard/api/feed", params={"once": "true", "after": ids[-2]}, headers=admin_headers
        )
        assert [line for line in later.text.splitlines() if line.startswith("id: ")] == [
            f"id: {ids[-1]}"
        ]
