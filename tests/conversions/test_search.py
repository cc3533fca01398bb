"""Searching conversions: every filter against answers worked out in Python from the rows the
test itself sent (as postbacks), never from the code under test."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.factories import create_tenant, postback

SEARCH_FIELDS = (
    "conversion_id",
    "order_id",
    "aff_sub",
    "aff_sub2",
    "aff_sub3",
    "aff_sub4",
    "adv_sub",
    "adv_sub2",
    "adv_sub3",
    "adv_sub4",
    "adv_sub5",
)
# Identifiers chosen to trip a careless prefix search: LIKE wildcards, case, a value that is
# another's prefix, characters past the Basic Multilingual Plane, CJK.
TRICKY_IDS = (
    "IA-88231",
    "IA-8823",
    "IA-88231X",
    "ia-88231",
    "IA_88231",
    "IA%8823",
    "IA-8824",
    "订单-0001",
    "订单-0002",
    "IA-\U0001f600-1",
    "IA-\U0010ffff",
)
STATUSES = ("approved", "pending", "rejected", "paid")


@dataclass
class Sent:
    """One stored row, with the values the test sent for it."""

    id: int
    tenant: str
    values: dict[str, Any] = field(default_factory=dict)
    # The row's status as stored: a duplicate keeps the one it carried, a first row takes the
    # newest one sent for its conversion (every postback here carries one).
    status: str = ""

    def get(self, name: str) -> Any:
        return self.values.get(name)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def data(app, client: httpx.AsyncClient, db) -> tuple[list[Sent], dict[str, dict[str, str]]]:
    """Three partners' rows (about 60, with duplicates), and each partner's API key header."""
    acme = await create_tenant(app, "acme", ts_token="tok-acme")
    other = await create_tenant(app, "other", ts_token="tok-other")
    keys = {
        "acme": bearer(acme.secrets["api_key"]),
        "other": bearer(other.secrets["api_key"]),
    }
    pick = random.Random(18)
    rows: list[Sent] = []

    async def send(tenant: str, conversion_id: str, **values: Any) -> None:
        params = {**values, "conversion_id": conversion_id}
        token = {"default": None, "acme": "tok-acme", "other": "tok-other"}[tenant]
        response = await client.get(
            "/postback/", params=postback(conversion_id, ts_token=token, **values)
        )
        assert response.status_code == 200, response.text
        full = postback(conversion_id, **values)
        rows.append(Sent(response.json()["id"], tenant, {**full, **params}))

    for n, conversion_id in enumerate(TRICKY_IDS):
        tenant = ("acme", "other", "default")[n % 3]
        await send(
            tenant,
            conversion_id,
            order_id=f"ORD-{n % 4}-{conversion_id}",
            aff_sub=f"camp-{n % 3}",
            adv_sub=None if n % 2 else f"click-{conversion_id}",
            aff_sub3="IA-88" if n == 5 else None,
            adv_sub5="x" * 300 if n == 6 else None,
            usd_sale_amount=f"{n * 10}.50",
            usd_payout=f"{n}.25",
            status=STATUSES[n % 4],
        )
    for n in range(40):
        tenant = pick.choice(("acme", "other", "default"))
        conversion_id = f"C-{pick.randrange(25):03d}"
        sale = None if n % 9 == 0 else f"{pick.randrange(0, 50000) / 100:.2f}"
        await send(
            tenant,
            conversion_id,
            order_id=pick.choice((f"O-{n % 7}", None)),
            aff_sub=pick.choice(("camp-0", "camp-1", "IA-88231-sub", None)),
            aff_sub2=pick.choice(("C-00", "deep", None)),
            adv_sub=pick.choice((f"click-{n}", None)),
            adv_sub3=pick.choice(("ia-8", None)),
            usd_sale_amount=sale,
            usd_payout=None if sale is None else f"{Decimal(sale) / 20:.2f}",
            status=pick.choice(STATUSES),
        )
    for row in rows:
        same = [
            o
            for o in rows
            if (o.tenant, o.get("conversion_id")) == (row.tenant, row.get("conversion_id"))
        ]
        row.status = same[-1].get("status") if same[0] is row else row.get("status")
    return rows, keys


def matches(row: Sent, filters: dict[str, str]) -> bool:
    """The filters' meaning, written out plainly."""
    for name, wanted in filters.items():
        if name in SEARCH_FIELDS:
            if row.get(name) != wanted:
                return False
        elif name == "q":
            if not any(
                isinstance(row.get(f), str) and row.get(f).startswith(wanted) for f in SEARCH_FIELDS
            ):
                return False
        elif name == "status":
            if row.status != wanted:
                return False
        elif name in ("min_sale", "max_sale", "min_payout", "max_payout"):
            column = "usd_sale_amount" if name.endswith("sale") else "usd_payout"
            value = row.get(column)
            if value is None:
                return False
            if name.startswith("min") and Decimal(value) < Decimal(wanted):
                return False
            if name.startswith("max") and Decimal(value) > Decimal(wanted):
                return False
        elif name == "tenant":
            if row.tenant != wanted:
                return False
        else:
            raise AssertionError(f"the test does not know filter {name}")
    return True


async def found(client: httpx.AsyncClient, headers: dict[str, str], **filters: str) -> list[int]:
    response = await client.get(
        "/postback/conversions", params={**filters, "page_size": 1000}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    ids = [item["id"] for item in body["items"]]
    assert body["total"] == len(ids)
    return ids


def expected(rows: list[Sent], filters: dict[str, str], tenant: str | None = None) -> list[int]:
    chosen = [r.id for r in rows if matches(r, filters) and tenant in (None, r.tenant)]
    return sorted(chosen, reverse=True)


FILTERS: list[dict[str, str]] = [
    {"conversion_id": "IA-88231"},
    {"conversion_id": "ia-88231"},
    {"conversion_id": "IA-8823"},
    {"conversion_id": "C-003"},
    {"conversion_id": "订单-0002"},
    {"conversion_id": "IA-\U0010ffff"},
    {"conversion_id": "nobody"},
    {"order_id": "ORD-1-IA-8823"},
    {"order_id": "O-3"},
    {"aff_sub": "camp-1"},
    {"aff_sub": "IA-88231-sub"},
    {"aff_sub2": "deep"},
    {"aff_sub3": "IA-88"},
    {"adv_sub": "click-IA-88231"},
    {"adv_sub3": "ia-8"},
    {"adv_sub5": "x" * 300},
    {"adv_sub5": "x" * 200},
    {"q": "IA-8823"},
    {"q": "IA-88"},
    {"q": "IA_"},
    {"q": "IA%"},
    {"q": "ia-"},
    {"q": "订单-"},
    {"q": "IA-\U0001f600"},
    {"q": "IA-\U0010ffff"},
    {"q": "C-00"},
    {"q": "camp"},
    {"q": "xxx"},
    {"q": "ORD-1-"},
    {"q": "zzz"},
    {"status": "approved"},
    {"min_sale": "100"},
    {"max_sale": "100.50"},
    {"min_sale": "50", "max_sale": "250"},
    {"min_payout": "3.25", "max_payout": "10"},
    {"min_sale": "0", "max_payout": "0"},
    {"q": "C-0", "status": "pending", "min_sale": "20"},
    {"aff_sub": "camp-0", "q": "IA-"},
    {"conversion_id": "C-010", "aff_sub2": "C-00"},
]


class TestEveryFilter:
    async def test_as_the_admin(self, client, data, admin_headers):
        rows, _ = data
        for filters in FILTERS:
            assert await found(client, admin_headers, **filters) == expected(rows, filters), filters

    async def test_the_filters_are_not_all_empty(self, data):
        """The cases mean something: most find rows, and no two find the very same rows."""
        rows, _ = data
        answers = [tuple(expected(rows, f)) for f in FILTERS]
        assert sum(1 for a in answers if a) >= len(FILTERS) - 5
        assert len(set(answers)) >= 25

    async def test_as_a_partner(self, client, data):
        rows, keys = data
        for tenant, headers in keys.items():
            for filters in FILTERS:
                got = await found(client, headers, **filters)
                assert got == expected(rows, filters, tenant), (tenant, filters)

    async def test_a_partner_naming_another_partner_still_gets_its_own(self, client, data):
        rows, keys = data
        got = await found(client, keys["acme"], q="IA-", tenant="other")
        assert got == expected(rows, {"q": "IA-"}, "acme")
        assert got

    async def test_admin_narrowed_to_a_partner(self, client, data, admin_headers):
        rows, _ = data
        for filters in ({"q": "IA-"}, {"aff_sub": "camp-0"}, {"min_sale": "10"}):
            got = await found(client, admin_headers, tenant="other", **filters)
            assert got == expected(rows, {**filters, "tenant": "other"})

    async def test_duplicates_are_found_with_their_first_row(self, client, data, admin_headers):
        rows, _ = data
        repeated = [
            r
            for r in rows
            if sum(
                o.get("conversion_id") == r.get("conversion_id") and o.tenant == r.tenant
                for o in rows
            )
            > 1
        ]
        assert repeated, "the data set has duplicates"
        target = repeated[0]
        got = await found(
            client, admin_headers, conversion_id=target.get("conversion_id"), tenant=target.tenant
        )
        assert len(got) >= 2
        assert got == expected(
            rows, {"conversion_id": target.get("conversion_id"), "tenant": target.tenant}
        )

    async def test_empty_values_are_no_filter(self, client, data, admin_headers):
        rows, _ = data
        got = await found(client, admin_headers, q="", order_id=" ", min_sale="")
        assert got == expected(rows, {})

    async def test_pages_of_a_search(self, client, data, admin_headers):
        rows, _ = data
        want = expected(rows, {"q": "C-0"})
        pages = []
        for page in (1, 2, 3):
            response = await client.get(
                "/postback/conversions",
                params={"q": "C-0", "page": page, "page_size": 10},
                headers=admin_headers,
            )
            assert response.json()["total"] == len(want)
            pages += [item["id"] for item in response.json()["items"]]
        assert pages == want[:30]


def refused(response: httpx.Response, *fields: str) -> dict[str, str]:
    assert response.status_code == 422, response.text
    named = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(named) == set(fields), named
    return named


class TestBadInput:
    @pytest.mark.parametrize(
        ("params", "fields"),
        [
            ({"conversionid": "IA-1"}, ["conversionid"]),
            ({"foo": "1", "bar": "2", "q": "abc"}, ["foo", "bar"]),
            ({"Conversion_id": "IA-1"}, ["Conversion_id"]),
            ({"q": "ab"}, ["q"]),
            ({"q": "a" * 201}, ["q"]),
            ({"q": "ab\x00c"}, ["q"]),
            ({"conversion_id": "x" * 256}, ["conversion_id"]),
            ({"aff_sub": "x" * 2049}, ["aff_sub"]),
            ({"order_id": "a\x00"}, ["order_id"]),
            ({"min_sale": "lots"}, ["min_sale"]),
            ({"min_sale": "NaN"}, ["min_sale"]),
            ({"max_payout": "1.1234567"}, ["max_payout"]),
            ({"min_sale": "10", "max_sale": "9.99"}, ["max_sale"]),
            ({"min_payout": "5", "max_payout": "1"}, ["max_payout"]),
            ({"duplicates": "some"}, ["duplicates"]),
        ],
    )
    async def test_names_the_field(self, client, db, admin_headers, params, fields):
        response = await client.get("/postback/conversions", params=params, headers=admin_headers)
        refused(response, *fields)

    async def test_the_message_lists_no_value_and_says_why(self, client, db, admin_headers):
        response = await client.get(
            "/postback/conversions", params={"conversionid": "IA-1"}, headers=admin_headers
        )
        assert "not permitted" in refused(response, "conversionid")["conversionid"]

    async def test_a_repeated_parameter(self, client, db, admin_headers):
        response = await client.get(
            "/postback/conversions?conversion_id=A&conversion_id=B&q=abc", headers=admin_headers
        )
        assert "more than once" in refused(response, "conversion_id")["conversion_id"]

    async def test_the_unknown_parameter_wins_over_no_token(self, client, db):
        """Without a token the answer is 401 whatever the filters (nothing is said about the
        data to a stranger)."""
        response = await client.get("/postback/conversions", params={"nope": "1"})
        assert response.status_code == 401

    @pytest.mark.parametrize(
        ("query", "field"),
        [("hour=2", "hour"), ("hours=2&hours=3", "hours"), ("tenant=a&bogus=1", "bogus")],
    )
    async def test_stats_too(self, client, db, admin_headers, query, field):
        response = await client.get(f"/postback/stats?{query}", headers=admin_headers)
        refused(response, field)

    async def test_stats_known_parameters_still_work(self, client, db, admin_headers):
        response = await client.get("/postback/stats", params={"hours": 2}, headers=admin_headers)
        assert response.status_code == 200


async def test_the_sub_ids_indexed_expressions_have_statistics(db):
    """Without them a prefix search is planned as a walk of the whole table (docs/search.md)."""
    rows = await db.fetch(
        "SELECT stxname, pg_get_statisticsobjdef_expressions(oid) AS expressions"
        " FROM pg_statistic_ext WHERE stxrelid = 'conversion'::regclass"
    )
    found = {r["stxname"]: r["expressions"] for r in rows}
    subs = [f"{kind}{n}" for kind in ("aff_sub", "adv_sub") for n in ("", "2", "3", "4")]
    subs.append("adv_sub5")
    assert found == {f"st_conversion_{f}_search": [f'"left"({f}, 200)'] for f in subs}
