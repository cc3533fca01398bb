"""The dashboard's conversion search and conversion page, for a partner's session (its own
conversions only) and the admin's (every partner's)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.factories import create_tenant, postback

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def send(client: httpx.AsyncClient, conversion_id: str, **fields: Any) -> int:
    response = await client.get("/postback/", params=postback(conversion_id, **fields))
    assert response.status_code == 200, response.text
    row_id: int = response.json()["id"]
    return row_id


async def partner_session(client: httpx.AsyncClient, api_key: str) -> None:
    page = await client.get("/dashboard")
    found = CSRF.search(page.text)
    assert found
    signed = await client.post(
        "/dashboard/login", data={"csrf_token": found.group(1), "api_key": api_key}
    )
    assert signed.status_code == 303


def result_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr>\s*<td><a href="/dashboard/conversions/(\d+)"', page)]


@pytest.fixture
async def rows(app, client, db) -> dict[str, Any]:
    acme = await create_tenant(app, "acme", ts_token="tok-acme")
    other = await create_tenant(app, "other", ts_token="tok-other")
    return {
        "acme_key": acme.secrets["api_key"],
        "other_key": other.secrets["api_key"],
        "acme": [
            await send(client, "SHARED-1", ts_token="tok-acme", order_id="ORD-ACME"),
            await send(client, "SHARED-1", ts_token="tok-acme", status="approved"),
            await send(client, "ACME-2", ts_token="tok-acme", aff_sub="SHARED-sub"),
        ],
        "other": [await send(client, "SHARED-1", ts_token="tok-other", order_id="ORD-OTHER")],
    }


class TestAPartnersSession:
    async def test_finds_its_own_conversions_only(self, client, rows):
        await partner_session(client, rows["acme_key"])
        page = await client.get("/dashboard/conversions", params={"q": "SHARED", "tenant": "other"})
        assert page.status_code == 200
        assert result_ids(page.text) == sorted(rows["acme"], reverse=True)
        assert "ORD-OTHER" not in page.text
        assert 'id="search-tenant"' not in page.text  # no partner picker for a partner

    async def test_opens_its_own_conversion(self, client, rows):
        await partner_session(client, rows["acme_key"])
        page = await client.get(f"/dashboard/conversions/{rows['acme'][1]}")
        assert page.status_code == 200
        entries = re.findall(r'id="entry-(\d+)"', page.text)
        assert [int(i) for i in entries] == rows["acme"][:2]
        assert "ORD-ACME" in page.text

    async def test_another_partners_conversion_is_not_found(self, client, rows):
        await partner_session(client, rows["acme_key"])
        page = await client.get(f"/dashboard/conversions/{rows['other'][0]}")
        assert page.status_code == 404
        assert 'id="not-found"' in page.text
        assert "ORD-OTHER" not in page.text

    async def test_the_search_box_is_in_the_header(self, client, rows):
        await partner_session(client, rows["acme_key"])
        page = await client.get("/dashboard")
        assert 'action="/dashboard/conversions"' in page.text


class TestTheAdminsSession:
    async def test_every_partner(self, client, rows):
        from tests.admin.conftest import sign_in

        assert (await sign_in(client)).status_code == 303
        page = await client.get("/dashboard/conversions", params={"conversion_id": "SHARED-1"})
        want = sorted([*rows["acme"][:2], *rows["other"]], reverse=True)
        assert result_ids(page.text) == want
        one = await client.get(f"/dashboard/conversions/{rows['other'][0]}")
        assert one.status_code == 200


class TestNobody:
    @pytest.mark.parametrize(
        "path", ["/dashboard/conversions?q=SHARED", "/dashboard/conversions/1"]
    )
    async def test_gets_the_sign_in_form(self, client, rows, path):
        page = await client.get(path)
        assert page.status_code == 200
        assert 'action="/dashboard/login"' in page.text
        assert "SHARED" not in page.text.replace('value="SHARED"', "")
        assert "ORD-" not in page.text
