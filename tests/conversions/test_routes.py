"""Reading conversions and their statistics, as an operator or a partner sees them.

Every row is created by sending a real postback; every expected number below is worked out
by hand from the values sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.factories import create_tenant, postback

KL = ZoneInfo("Asia/Kuala_Lumpur")
DAY = {"since": "2026-11-20T00:00:00", "until": "2026-11-21T00:00:00"}  # naive: KL time


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def send(client: httpx.AsyncClient, conversion_id: str, **fields: Any) -> dict[str, Any]:
    response = await client.get("/postback/", params=postback(conversion_id, **fields))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(response: httpx.Response, status: int, field: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert set(body) == {"status", "errors"}
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert field in fields, body
    assert fields[field]
    return fields[field]


def total(*amounts: str) -> str:
    """The exact sum of amounts as the API writes money (all inputs here have 2+ places)."""
    return str(sum((Decimal(a) for a in amounts), Decimal("0.00")))


@pytest.fixture
async def partners(app, db) -> dict[str, dict[str, str]]:
    """Two partners, each with its postback token and the API key it reads its data with."""
    acme = await create_tenant(app, "acme", ts_token="tok-acme")
    other = await create_tenant(app, "other", ts_token="tok-other")
    return {
        "acme": bearer(acme.secrets["api_key"]) | {"ts_token": "tok-acme"},
        "other": bearer(other.secrets["api_key"]) | {"ts_token": "tok-other"},
    }


def headers_of(partner: dict[str, str]) -> dict[str, str]:
    return {"Authorization": partner["Authorization"]}


class TestAuthentication:
    @pytest.mark.parametrize(
        "path", ["/postback/conversions", "/postback/conversions/1", "/postback/stats"]
    )
    async def test_without_a_token(self, client, path):
        response = await client.get(path)
        message = refused(response, 401, "authorization")
        assert "Bearer" in message
        assert response.headers["www-authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        "header",
        [
            "Bearer wrong-token",
            "Bearer ",
            "Basic dGVzdDp0ZXN0",
            "test-admin-token-0123456789abcdef",  # the admin token without the scheme
        ],
    )
    async def test_wrong_token(self, client, header):
        response = await client.get("/postback/conversions", headers={"Authorization": header})
        refused(response, 401, "authorization")

    async def test_admin_token(self, client, admin_headers):
        response = await client.get("/postback/conversions", headers=admin_headers)
        assert response.status_code == 200
        assert response.json() == {"items": [], "total": 0, "page": 1, "page_size": 50}

    async def test_disabled_partner_is_refused(self, client, db, partners):
        await db.execute("UPDATE tenant SET enabled = false WHERE slug = 'acme'")
        response = await client.get("/postback/conversions", headers=headers_of(partners["acme"]))
        assert "disabled" in refused(response, 403, "authorization")


class TestPartnerSeesOnlyItsOwnData:
    async def test_list(self, client, partners, admin_headers):
        await send(client, "A-1", ts_token="tok-acme")
        await send(client, "A-2", ts_token="tok-acme")
        await send(client, "B-1", ts_token="tok-other")
        await send(client, "D-1")  # no token: the default partner

        response = await client.get("/postback/conversions", headers=headers_of(partners["acme"]))
        assert response.status_code == 200
        body = response.json()
        assert [i["conversion_id"] for i in body["items"]] == ["A-2", "A-1"]
        assert {i["tenant"] for i in body["items"]} == {"acme"}
        assert body["total"] == 2

        everything = await client.get("/postback/conversions", headers=admin_headers)
        assert [i["conversion_id"] for i in everything.json()["items"]] == [
            "D-1",
            "B-1",
            "A-2",
            "A-1",
        ]
        assert everything.json()["total"] == 4

    async def test_a_partner_cannot_ask_for_another_partner(self, client, partners):
        await send(client, "A-1", ts_token="tok-acme")
        await send(client, "B-1", ts_token="tok-other")
        response = await client.get(
            "/postback/conversions",
            params={"tenant": "other"},
            headers=headers_of(partners["acme"]),
        )
        # The slug is for admins; a partner still gets its own rows only.
        assert response.status_code == 200
        assert [i["conversion_id"] for i in response.json()["items"]] == ["A-1"]

    async def test_same_conversion_id_at_two_partners(self, client, partners):
        mine = await send(client, "SAME-1", ts_token="tok-acme")
        theirs = await send(client, "SAME-1", ts_token="tok-other")
        assert mine["duplicate"] is False
        assert theirs["duplicate"] is False
        response = await client.get("/postback/conversions", headers=headers_of(partners["acme"]))
        assert [i["id"] for i in response.json()["items"]] == [mine["id"]]

    async def test_one(self, client, partners, admin_headers):
        mine = await send(client, "A-1", ts_token="tok-acme")
        theirs = await send(client, "B-1", ts_token="tok-other")
        acme = headers_of(partners["acme"])

        own = await client.get(f"/postback/conversions/{mine['id']}", headers=acme)
        assert own.status_code == 200
        assert own.json()["conversion_id"] == "A-1"
        assert own.json()["tenant"] == "acme"

        other = await client.get(f"/postback/conversions/{theirs['id']}", headers=acme)
        refused(other, 404, "id")
        assert "B-1" not in other.text

        admin = await client.get(f"/postback/conversions/{theirs['id']}", headers=admin_headers)
        assert admin.status_code == 200
        assert admin.json()["tenant"] == "other"

    async def test_stats(self, client, partners):
        await send(
            client,
            "A-1",
            ts_token="tok-acme",
            datetime_conversion="2026-11-20 10:00:00",
            usd_sale_amount="10.00",
            myr_sale_amount="44.50",
            usd_payout="1.00",
            myr_payout="4.45",
        )
        await send(
            client,
            "B-1",
            ts_token="tok-other",
            datetime_conversion="2026-11-20 10:30:00",
            usd_sale_amount="500.00",
            myr_sale_amount="2225.00",
            usd_payout="50.00",
            myr_payout="222.50",
            offer_id="9009",
        )
        await send(client, "B-1", ts_token="tok-other", datetime_conversion="2026-11-20 10:30:00")

        response = await client.get(
            "/postback/stats", params=DAY, headers=headers_of(partners["acme"])
        )
        assert response.status_code == 200
        body = response.json()
        assert body["totals"] == {
            "conversions": 1,
            "duplicates": 0,
            "rejections": 0,
            "sales_usd": "10.00",
            "sales_myr": "44.50",
            "payouts_usd": "1.00",
            "payouts_myr": "4.45",
        }
        assert [o["offer_id"] for o in body["by_offer"]] == ["1001"]
        assert sum(s["conversions"] for s in body["by_status"]) == 1
        assert sum(h["conversions"] for h in body["by_hour"]) == 1
        assert body["tenant"] == "acme"

    async def test_stats_asking_for_another_partner(self, client, partners):
        await send(client, "B-1", ts_token="tok-other", datetime_conversion="2026-11-20 10:30:00")
        response = await client.get(
            "/postback/stats",
            params=DAY | {"tenant": "other"},
            headers=headers_of(partners["acme"]),
        )
        # The slug is for admins; a partner still gets its own (empty) numbers, labelled so.
        assert response.status_code == 200
        assert response.json()["totals"]["conversions"] == 0
        assert response.json()["tenant"] == "acme"

    async def test_stats_rejections_are_the_partners_own(self, client, partners, admin_headers):
        await send(client, "A-1", ts_token="tok-acme", datetime_conversion=None)
        for conversion_id in ("A-bad-1", "A-bad-2"):
            bad = await client.get(
                "/postback/",
                params={
                    "conversion_id": conversion_id,
                    "ts_token": "tok-acme",
                    "usd_payout": "lots",
                },
            )
            assert bad.status_code == 422
        bad = await client.get(
            "/postback/",
            params={"conversion_id": "B-bad", "ts_token": "tok-other", "usd_payout": "x"},
        )
        assert bad.status_code == 422

        # No since/until: the last hour up to now, which holds everything sent just now.
        mine = await client.get(
            "/postback/stats", params={"hours": 1}, headers=headers_of(partners["acme"])
        )
        assert mine.status_code == 200
        assert mine.json()["totals"]["rejections"] == 2
        assert mine.json()["totals"]["conversions"] == 1

        theirs = await client.get(
            "/postback/stats", params={"hours": 1, "tenant": "other"}, headers=admin_headers
        )
        assert theirs.json()["totals"]["rejections"] == 1
        assert theirs.json()["totals"]["conversions"] == 0

        everyone = await client.get("/postback/stats", params={"hours": 1}, headers=admin_headers)
        assert everyone.json()["totals"]["rejections"] == 3


class TestAdminTenantFilter:
    async def test_by_slug(self, client, partners, admin_headers):
        await send(client, "A-1", ts_token="tok-acme")
        await send(client, "B-1", ts_token="tok-other")
        await send(client, "B-2", ts_token="tok-other")
        response = await client.get(
            "/postback/conversions", params={"tenant": "other"}, headers=admin_headers
        )
        assert response.status_code == 200
        assert [i["conversion_id"] for i in response.json()["items"]] == ["B-2", "B-1"]
        assert response.json()["total"] == 2

    @pytest.mark.parametrize("path", ["/postback/conversions", "/postback/stats"])
    async def test_unknown_slug(self, client, db, admin_headers, path):
        response = await client.get(path, params={"tenant": "nobody"}, headers=admin_headers)
        assert "nobody" in refused(response, 404, "tenant")


class TestPagination:
    async def test_newest_first_in_pages(self, client, db, admin_headers):
        ids = [(await send(client, f"P-{n}"))["id"] for n in range(1, 6)]
        pages = []
        for page in (1, 2, 3, 4):
            response = await client.get(
                "/postback/conversions",
                params={"page": page, "page_size": 2},
                headers=admin_headers,
            )
            assert response.status_code == 200
            body = response.json()
            assert (body["total"], body["page"], body["page_size"]) == (5, page, 2)
            pages.append([i["id"] for i in body["items"]])
        assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]], []]

    async def test_default_page(self, client, db, admin_headers):
        await send(client, "P-1")
        body = (await client.get("/postback/conversions", headers=admin_headers)).json()
        assert (body["total"], body["page"], body["page_size"]) == (1, 1, 50)

    async def test_largest_page_size(self, client, db, admin_headers):
        response = await client.get(
            "/postback/conversions", params={"page_size": 1000}, headers=admin_headers
        )
        assert response.status_code == 200
        assert response.json()["page_size"] == 1000

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"page_size": 1001}, "page_size"),
            ({"page_size": 0}, "page_size"),
            ({"page_size": "ten"}, "page_size"),
            ({"page": 0}, "page"),
            ({"page": -1}, "page"),
            ({"page": "99999999999999999999999"}, "page"),
        ],
    )
    async def test_out_of_range(self, client, db, admin_headers, params, field):
        response = await client.get("/postback/conversions", params=params, headers=admin_headers)
        refused(response, 422, field)


class TestOne:
    async def test_every_field_as_sent(self, client, db, admin_headers):
        sent = await send(client, "O-1", aff_sub="campaign-z", status="Approved")
        response = await client.get(f"/postback/conversions/{sent['id']}", headers=admin_headers)
        assert response.status_code == 200
        item = response.json()
        assert item["id"] == sent["id"]
        assert item["tenant"] == "default"
        assert item["conversion_id"] == "O-1"
        assert item["offer_id"] == "1001"
        assert item["offer_name"] == "Shopee MY"
        assert item["order_id"] == "ORD-O-1"
        # Money is exact decimal text, never a float.
        assert item["sale_amount_local"] == "120.50"
        assert item["myr_sale_amount"] == "120.50"
        assert item["usd_sale_amount"] == "27.10"
        assert item["payout_local"] == "6.02"
        assert item["usd_payout"] == "1.35"
        assert item["conversion_currency"] == "MYR"
        assert (item["status"], item["status_raw"]) == ("approved", "Approved")
        assert item["aff_sub"] == "campaign-z"
        # 2026-11-20 10:15:00 in Kuala Lumpur (UTC+8).
        assert datetime.fromisoformat(item["datetime_conversion"]) == datetime(
            2026, 11, 20, 2, 15, tzinfo=UTC
        )
        assert item["occurred_at"] == item["datetime_conversion"]
        assert item["source_ip"] == "203.0.113.7"
        assert item["is_duplicate"] is False
        assert item["first_id"] is None
        assert item["raw"]["conversion_id"] == "O-1"

    async def test_unknown_id(self, client, db, admin_headers):
        response = await client.get("/postback/conversions/12345", headers=admin_headers)
        assert "12345" in refused(response, 404, "id")

    @pytest.mark.parametrize(
        "value", ["99999999999999999999", "9223372036854775808", "0", "-1", "abc", "1.5"]
    )
    async def test_id_that_cannot_be_one(self, client, db, admin_headers, value):
        response = await client.get(f"/postback/conversions/{value}", headers=admin_headers)
        refused(response, 422, "conversion_pk")

    async def test_largest_id(self, client, db, admin_headers):
        response = await client.get(
            "/postback/conversions/9223372036854775807", headers=admin_headers
        )
        refused(response, 404, "id")


async def listed(client, admin_headers, **params: Any) -> list[str]:
    response = await client.get("/postback/conversions", params=params, headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return [i["conversion_id"] for i in body["items"]]


class TestFilters:
    async def test_offer_id(self, client, db, admin_headers):
        await send(client, "F-1", offer_id="1001")
        await send(client, "F-2", offer_id="2002")
        await send(client, "F-3", offer_id="1001")
        assert await listed(client, admin_headers, offer_id="1001") == ["F-3", "F-1"]
        assert await listed(client, admin_headers, offer_id="2002") == ["F-2"]
        assert await listed(client, admin_headers, offer_id="3003") == []

    async def test_status(self, client, db, admin_headers):
        await send(client, "F-1", status="approved")
        await send(client, "F-2", status="pending")
        await send(client, "F-3", status="Declined")
        assert await listed(client, admin_headers, status="approved") == ["F-1"]
        assert await listed(client, admin_headers, status="APPROVED") == ["F-1"]
        assert await listed(client, admin_headers, status="rejected") == ["F-3"]

    async def test_since_and_until_on_conversion_time_in_kuala_lumpur(
        self, client, db, admin_headers
    ):
        await send(client, "T-before", datetime_conversion="2026-11-19 23:59:59")
        await send(client, "T-start", datetime_conversion="2026-11-20 00:00:00")
        await send(client, "T-noon", datetime_conversion="2026-11-20 12:00:00")
        # 15:59:59 UTC is 23:59:59 in Kuala Lumpur, still the 20th there.
        await send(client, "T-late", datetime_conversion="2026-11-20T15:59:59Z")
        await send(client, "T-end", datetime_conversion="2026-11-21 00:00:00")
        # No conversion time: placed at its received time (now), outside the day.
        await send(client, "T-now", datetime_conversion=None)

        assert await listed(client, admin_headers, **DAY) == ["T-late", "T-noon", "T-start"]
        assert await listed(client, admin_headers, since="2026-11-20") == [
            "T-now",
            "T-end",
            "T-late",
            "T-noon",
            "T-start",
        ]
        assert await listed(client, admin_headers, until="2026-11-20") == ["T-before"]
        # The same instants written with an offset.
        assert await listed(
            client,
            admin_headers,
            since="2026-11-19T16:00:00+00:00",
            until="2026-11-20T04:00:01Z",
        ) == ["T-noon", "T-start"]

    async def test_conversion_without_time_is_placed_at_its_received_time(
        self, client, db, admin_headers
    ):
        await send(client, "T-now", datetime_conversion=None)
        now = datetime.now(KL)
        window = {
            "since": (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
            "until": (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
        }
        assert await listed(client, admin_headers, **window) == ["T-now"]

    async def test_duplicates(self, client, db, admin_headers):
        first = await send(client, "D-1", status="pending")
        again = await send(client, "D-1", status="approved")
        other = await send(client, "D-2", status="pending")
        assert again["duplicate"] is True

        assert await listed(client, admin_headers) == ["D-2", "D-1", "D-1"]
        assert await listed(client, admin_headers, duplicates="include") == ["D-2", "D-1", "D-1"]

        response = await client.get(
            "/postback/conversions", params={"duplicates": "exclude"}, headers=admin_headers
        )
        items = response.json()["items"]
        assert [i["id"] for i in items] == [other["id"], first["id"]]
        # The later postback moved the first row to its status.
        assert items[1]["status"] == "approved"

        response = await client.get(
            "/postback/conversions", params={"duplicates": "only"}, headers=admin_headers
        )
        (duplicate,) = response.json()["items"]
        assert duplicate["id"] == again["id"]
        assert duplicate["is_duplicate"] is True
        assert duplicate["first_id"] == first["id"]
        assert duplicate["status"] == "approved"

    async def test_filters_combine(self, client, db, admin_headers):
        await send(client, "C-1", offer_id="1001", status="approved")
        await send(client, "C-2", offer_id="1001", status="pending")
        await send(client, "C-3", offer_id="2002", status="approved")
        await send(client, "C-1", offer_id="1001", status="approved")
        assert await listed(
            client, admin_headers, offer_id="1001", status="approved", duplicates="exclude"
        ) == ["C-1"]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"since": "yesterday"}, "since"),
            ({"since": "2026-13-01"}, "since"),
            ({"until": "20/11/2026"}, "until"),
            ({"duplicates": "maybe"}, "duplicates"),
        ],
    )
    async def test_invalid(self, client, db, admin_headers, params, field):
        response = await client.get("/postback/conversions", params=params, headers=admin_headers)
        refused(response, 422, field)

    @pytest.mark.parametrize(
        ("path", "field"),
        [
            *[("/postback/conversions", f) for f in ("tenant", "offer_id", "status", "since")],
            *[("/postback/stats", f) for f in ("tenant", "since", "until")],
        ],
    )
    async def test_nul_character(self, client, db, admin_headers, path, field):
        """Found by schemathesis: PostgreSQL text cannot hold NUL, so it was a 500."""
        response = await client.get(path, params={field: "a\x00b"}, headers=admin_headers)
        refused(response, 422, field)


OFFER_NAMES = {"1001": "Shopee MY", "2002": "Lazada MY", "3003": "TikTok Shop"}
# conversion_id, partner, offer_id, datetime_conversion (naive: Kuala Lumpur), status,
# usd_sale_amount, myr_sale_amount, usd_payout, myr_payout
SENT = [
    # acme, in the day: four conversions, A-1 sent twice.
    ("A-0", "acme", "2002", "2026-11-20 00:00:00", "declined", "1.00", "4.45", "0.05", "0.22"),
    ("A-1", "acme", "1001", "2026-11-20 10:15:00", "pending", "27.10", "120.50", "1.35", "6.02"),
    ("A-2", "acme", "1001", "2026-11-20 10:45:00", "approved", "10.05", "44.70", "0.50", "2.24"),
    # 03:30 UTC is 11:30 in Kuala Lumpur.
    ("A-3", "acme", "2002", "2026-11-20T03:30:00Z", "pending", "5.00", "22.25", "0.125", "0.555"),
    # A-1 again, now approved: a duplicate, which moves A-1 to approved.
    ("A-1", "acme", "1001", "2026-11-20 10:15:00", "approved", "27.10", "120.50", "1.35", "6.02"),
    # acme, outside the day on either side.
    ("A-19", "acme", "1001", "2026-11-19 23:59:59", "pending", "900.00", "999.00", "9.00", "9.99"),
    ("A-21", "acme", "1001", "2026-11-21 00:00:00", "pending", "900.00", "999.00", "9.00", "9.99"),
    # other, the same day, the same offer and even a conversion_id acme also uses.
    ("A-1", "other", "1001", "2026-11-20 10:30:00", "approved", "50.00", "222.50", "2.50", "11.25"),
    ("B-2", "other", "3003", "2026-11-20 23:10:00", "pending", "3.00", "13.35", "0.30", "1.34"),
    ("B-2", "other", "3003", "2026-11-20 23:10:00", "pending", "3.00", "13.35", "0.30", "1.34"),
]


def bucket(hour: int) -> str:
    return datetime(2026, 11, 20, hour, tzinfo=KL).isoformat()


class TestStats:
    """Partner acme on 2026-11-20 (Kuala Lumpur time), with partner other alongside."""

    @pytest.fixture
    async def sent(self, client, partners):
        for conversion_id, partner, offer_id, moment, status, *amounts in SENT:
            usd_sale, myr_sale, usd_payout, myr_payout = amounts
            body = await send(
                client,
                conversion_id,
                ts_token=f"tok-{partner}",
                offer_id=offer_id,
                offer_name=OFFER_NAMES[offer_id],
                datetime_conversion=moment,
                status=status,
                usd_sale_amount=usd_sale,
                myr_sale_amount=myr_sale,
                usd_payout=usd_payout,
                myr_payout=myr_payout,
            )
            assert body["tenant"] == partner
        duplicates = await client.get(
            "/postback/conversions",
            params={"duplicates": "only"},
            headers=headers_of(partners["acme"]),
        )
        assert [i["conversion_id"] for i in duplicates.json()["items"]] == ["A-1"]
        return partners

    async def stats(self, client, headers, **params: Any) -> dict[str, Any]:
        response = await client.get("/postback/stats", params=DAY | params, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def test_window_and_timezone(self, client, sent):
        body = await self.stats(client, headers_of(sent["acme"]))
        assert body["timezone"] == "Asia/Kuala_Lumpur"
        assert datetime.fromisoformat(body["since"]) == datetime(2026, 11, 19, 16, tzinfo=UTC)
        assert datetime.fromisoformat(body["until"]) == datetime(2026, 11, 20, 16, tzinfo=UTC)

    async def test_totals(self, client, sent):
        body = await self.stats(client, headers_of(sent["acme"]))
        assert body["totals"] == {
            "conversions": 4,  # the second A-1 is not a new one
            "duplicates": 1,
            "rejections": 0,
            "sales_usd": total("1.00", "27.10", "10.05", "5.00"),
            "sales_myr": total("4.45", "120.50", "44.70", "22.25"),
            "payouts_usd": total("0.05", "1.35", "0.50", "0.125"),
            "payouts_myr": total("0.22", "6.02", "2.24", "0.555"),
        }
        assert body["totals"]["sales_usd"] == "43.15"
        assert body["totals"]["payouts_usd"] == "2.025"

    async def test_by_status(self, client, sent):
        body = await self.stats(client, headers_of(sent["acme"]))
        assert body["by_status"] == [
            # A-1 (moved to approved by its duplicate) and A-2.
            {
                "status": "approved",
                "conversions": 2,
                "sales_usd": total("27.10", "10.05"),
                "payouts_usd": total("1.35", "0.50"),
            },
            {"status": "pending", "conversions": 1, "sales_usd": "5.00", "payouts_usd": "0.125"},
            {"status": "rejected", "conversions": 1, "sales_usd": "1.00", "payouts_usd": "0.05"},
        ]

    async def test_by_offer(self, client, sent):
        body = await self.stats(client, headers_of(sent["acme"]))
        assert body["by_offer"] == [
            {
                "offer_id": "1001",
                "offer_name": "Shopee MY",
                "conversions": 2,
                "sales_usd": total("27.10", "10.05"),
                "sales_myr": total("120.50", "44.70"),
                "payouts_usd": total("1.35", "0.50"),
                "payouts_myr": total("6.02", "2.24"),
            },
            {
                "offer_id": "2002",
                "offer_name": "Lazada MY",
                "conversions": 2,
                "sales_usd": total("1.00", "5.00"),
                "sales_myr": total("4.45", "22.25"),
                "payouts_usd": total("0.05", "0.125"),
                "payouts_myr": total("0.22", "0.555"),
            },
        ]

    async def test_by_hour_in_kuala_lumpur(self, client, sent):
        body = await self.stats(client, headers_of(sent["acme"]))
        assert body["by_hour"] == [
            {"hour": bucket(0), "conversions": 1, "sales_usd": "1.00", "payouts_usd": "0.05"},
            {
                "hour": bucket(10),
                "conversions": 2,
                "sales_usd": total("27.10", "10.05"),
                "payouts_usd": total("1.35", "0.50"),
            },
            {"hour": bucket(11), "conversions": 1, "sales_usd": "5.00", "payouts_usd": "0.125"},
        ]
        assert body["by_hour"][1]["hour"] == "2026-11-20T10:00:00+08:00"

    async def test_admin_sees_every_partner(self, client, sent, admin_headers):
        body = await self.stats(client, admin_headers)
        totals = body["totals"]
        assert (totals["conversions"], totals["duplicates"]) == (4 + 2, 1 + 1)
        assert totals["sales_usd"] == total("1.00", "27.10", "10.05", "5.00", "50.00", "3.00")
        assert totals["payouts_myr"] == total("0.22", "6.02", "2.24", "0.555", "11.25", "1.34")
        offers = {o["offer_id"]: o for o in body["by_offer"]}
        assert offers["1001"]["conversions"] == 3
        assert offers["1001"]["sales_usd"] == total("27.10", "10.05", "50.00")
        assert offers["3003"]["conversions"] == 1
        hours = {h["hour"]: h["conversions"] for h in body["by_hour"]}
        assert hours == {bucket(0): 1, bucket(10): 3, bucket(11): 1, bucket(23): 1}

    async def test_admin_asks_for_one_partner(self, client, sent, admin_headers):
        body = await self.stats(client, admin_headers, tenant="other")
        assert body["tenant"] == "other"
        assert body["totals"] == {
            "conversions": 2,
            "duplicates": 1,
            "rejections": 0,
            "sales_usd": total("50.00", "3.00"),
            "sales_myr": total("222.50", "13.35"),
            "payouts_usd": total("2.50", "0.30"),
            "payouts_myr": total("11.25", "1.34"),
        }
        assert [s["status"] for s in body["by_status"]] == ["approved", "pending"]

    async def test_no_data(self, client, sent):
        body = await self.stats(
            client, headers_of(sent["acme"]), since="2026-10-01", until="2026-10-02"
        )
        assert body["totals"] == {
            "conversions": 0,
            "duplicates": 0,
            "rejections": 0,
            "sales_usd": "0.00",
            "sales_myr": "0.00",
            "payouts_usd": "0.00",
            "payouts_myr": "0.00",
        }
        assert (body["by_status"], body["by_offer"], body["by_hour"]) == ([], [], [])


class TestStatsRange:
    async def test_default_is_the_last_24_hours(self, client, db, admin_headers):
        response = await client.get("/postback/stats", headers=admin_headers)
        assert response.status_code == 200
        body = response.json()
        span = datetime.fromisoformat(body["until"]) - datetime.fromisoformat(body["since"])
        assert span == timedelta(hours=24)

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"since": "not a date"}, "since"),
            ({"until": "2026-11-32"}, "until"),
            ({"since": "2026-11-21", "until": "2026-11-20"}, "since"),
            ({"since": "2026-11-20", "until": "2026-11-20"}, "since"),
            ({"hours": 0}, "hours"),
            ({"hours": 24 * 367}, "hours"),
            ({"hours": 5, "since": "2026-11-20"}, "hours"),
            ({"since": "2020-01-01", "until": "2026-01-01"}, "since"),
        ],
    )
    async def test_invalid(self, client, db, admin_headers, params, field):
        response = await client.get("/postback/stats", params=params, headers=admin_headers)
        refused(response, 422, field)


class TestPartnerTimezone:
    """A partner with its own timezone reads naive times in it, in lists and stats alike."""

    async def test_list_and_stats_agree(self, client, app, db):
        jakarta = await create_tenant(app, "jkt", ts_token="tok-jkt", timezone="Asia/Jakarta")
        headers = bearer(jakarta.secrets["api_key"])
        # Naive conversion times are the partner's (UTC+7): 16:30 and 17:30 UTC on the 19th.
        await send(client, "J-eve", ts_token="tok-jkt", datetime_conversion="2026-11-19 23:30:00")
        await send(client, "J-day", ts_token="tok-jkt", datetime_conversion="2026-11-20 00:30:00")

        day = {"since": "2026-11-20", "until": "2026-11-21"}
        response = await client.get("/postback/conversions", params=day, headers=headers)
        assert [i["conversion_id"] for i in response.json()["items"]] == ["J-day"]

        stats = (await client.get("/postback/stats", params=day, headers=headers)).json()
        assert stats["timezone"] == "Asia/Jakarta"
        assert stats["totals"]["conversions"] == 1
        assert [h["hour"] for h in stats["by_hour"]] == ["2026-11-20T00:00:00+07:00"]


SCRIPT = '<script>alert("x")</script>'
SQL = "x'; DROP TABLE conversion; --"


class TestHostileValues:
    """Script- and SQL-looking values are stored exactly as sent and come back as JSON data."""

    async def test_stored_verbatim_and_returned_json_escaped(self, client, db, admin_headers):
        sent = await send(
            client,
            SCRIPT,
            offer_name="<img src=x onerror=alert(1)>",
            order_id=SQL,
            aff_sub="1' OR '1'='1",
        )
        row = await db.fetchrow(
            "SELECT conversion_id, offer_name, order_id, aff_sub FROM conversion WHERE id = $1",
            sent["id"],
        )
        assert dict(row) == {
            "conversion_id": SCRIPT,
            "offer_name": "<img src=x onerror=alert(1)>",
            "order_id": SQL,
            "aff_sub": "1' OR '1'='1",
        }
        response = await client.get(f"/postback/conversions/{sent['id']}", headers=admin_headers)
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-content-type-options"] == "nosniff"
        item = response.json()
        assert (item["conversion_id"], item["order_id"]) == (SCRIPT, SQL)
        # A JSON string, quotes escaped: never markup a browser would run.
        assert '"conversion_id":"<script>alert(\\"x\\")</script>"' in response.text

    async def test_sql_looking_filters_match_only_themselves(self, client, db, admin_headers):
        await send(client, "C-1", offer_id="1001")
        await send(client, "C-2", offer_id=SQL)
        assert await listed(client, admin_headers, offer_id=SQL) == ["C-2"]
        assert await listed(client, admin_headers, offer_id="' OR '1'='1") == []
        assert await listed(client, admin_headers, status="pending' OR 1=1 --") == []
        assert await db.fetchval("SELECT count(*) FROM conversion") == 2


class TestABrowserSessionReadsTheApi:
    """The home page links to /postback/conversions and /postback/stats: a browser signed in
    (admin pages or dashboard: one session) reads them without a bearer token."""

    async def test_the_admins_session(self, client, partners):
        from tests.admin.conftest import sign_in

        await send(client, "A-1", ts_token="tok-acme")
        await send(client, "B-1", ts_token="tok-other")
        assert (await client.get("/postback/conversions")).status_code == 401
        assert (await sign_in(client)).status_code == 303
        listed = await client.get("/postback/conversions")
        assert listed.status_code == 200
        assert [i["conversion_id"] for i in listed.json()["items"]] == ["B-1", "A-1"]
        stats = await client.get("/postback/stats", params={"hours": 1})
        assert stats.status_code == 200
        assert stats.json()["tenant"] is None

    async def test_a_partners_session_sees_its_own_rows(self, client, partners):
        import re

        await send(client, "A-1", ts_token="tok-acme")
        theirs = await send(client, "B-1", ts_token="tok-other")
        page = await client.get("/dashboard")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        key = partners["acme"]["Authorization"].removeprefix("Bearer ")
        signed = await client.post(
            "/dashboard/login", data={"csrf_token": csrf.group(1), "api_key": key}
        )
        assert signed.status_code == 303
        listed = await client.get("/postback/conversions", params={"tenant": "other"})
        assert [i["conversion_id"] for i in listed.json()["items"]] == ["A-1"]
        assert (await client.get("/postback/stats")).json()["tenant"] == "acme"
        other = await client.get(f"/postback/conversions/{theirs['id']}")
        assert other.status_code == 404

    async def test_a_wrong_bearer_token_is_not_rescued_by_a_session(self, client, partners):
        from tests.admin.conftest import sign_in

        assert (await sign_in(client)).status_code == 303
        response = await client.get(
            "/postback/conversions", headers={"Authorization": "Bearer wrong"}
        )
        assert response.status_code == 401
