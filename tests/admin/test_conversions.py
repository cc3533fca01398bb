"""The admin's conversion search and conversion page: results as the API finds them, every
problem named on the page, the history in order, payloads escaped."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from markupsafe import escape

from tests.factories import create_tenant, postback

HOSTILE = '<script>alert("x")</script>&amp;'


async def send(client: httpx.AsyncClient, conversion_id: str, **fields: Any) -> int:
    response = await client.get("/postback/", params=postback(conversion_id, **fields))
    assert response.status_code == 200, response.text
    row_id: int = response.json()["id"]
    return row_id


def result_ids(page: str) -> list[int]:
    table = re.search(r'<table id="search-results">(.*?)</table>', page, re.S)
    if table is None:
        return []
    return [
        int(i) for i in re.findall(r'<tr>\s*<td><a href="/admin/conversions/(\d+)"', table.group(1))
    ]


class TestSearchPage:
    async def test_needs_the_admin(self, client, db):
        response = await client.get("/admin/conversions", params={"q": "abc"})
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/login")

    async def test_empty_form_runs_no_search(self, admin, db):
        await send(admin, "IA-1")
        page = await admin.get("/admin/conversions")
        assert page.status_code == 200
        assert 'id="search-form"' in page.text
        assert result_ids(page.text) == []
        assert 'id="search-found"' not in page.text

    async def test_finds_what_the_api_finds(self, app, admin, db, admin_headers):
        await create_tenant(app, "acme", ts_token="tok-acme")
        sent = [
            await send(admin, "IA-88231", ts_token="tok-acme"),
            await send(admin, "IA-88232"),
            await send(admin, "IB-1", order_id="IA-88-order"),
            await send(admin, "IA-88231", ts_token="tok-acme", status="approved"),
            await send(admin, "XX-1"),
        ]
        page = await admin.get("/admin/conversions", params={"q": "IA-88"})
        assert page.status_code == 200
        want = sorted([sent[0], sent[1], sent[2], sent[3]], reverse=True)
        assert result_ids(page.text) == want
        assert "4 found" in page.text or "共找到 4 条" in page.text

        narrowed = await admin.get(
            "/admin/conversions", params={"q": "IA-88", "tenant": "acme", "status": "approved"}
        )
        # The first row took the newest status; the duplicate holds the one it carried.
        assert result_ids(narrowed.text) == [sent[3], sent[0]]

    async def test_pages_of_results(self, admin, db):
        sent = [await send(admin, f"PG-{n:03d}") for n in range(55)]
        first = await admin.get("/admin/conversions", params={"q": "PG-"})
        assert result_ids(first.text) == sorted(sent, reverse=True)[:50]
        link = re.search(r'<a href="([^"]+)" rel="next"', first.text)
        assert link
        second = await admin.get(html.unescape(link.group(1)))
        assert result_ids(second.text) == sorted(sent, reverse=True)[50:]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"q": "ab"}, "q"),
            ({"min_sale": "lots"}, "min_sale"),
            ({"min_sale": "9", "max_sale": "1"}, "max_sale"),
            ({"bogus": "1"}, "bogus"),
            ({"tenant": "nobody", "q": "abc"}, "tenant"),
            ({"since": "31/12/2026", "q": "abc"}, "since"),
        ],
    )
    async def test_problems_are_named_on_the_page(self, admin, db, params, field):
        page = await admin.get("/admin/conversions", params={**params, "lang": "en"})
        assert page.status_code == 422
        problems = re.search(r'id="search-problems">(.*?)</div>', page.text, re.S)
        assert problems, page.text
        assert f"<strong>{field}</strong>" in problems.group(1)
        # The form is shown again with what was typed.
        assert 'id="search-form"' in page.text

    async def test_what_was_typed_is_escaped(self, admin, db):
        page = await admin.get("/admin/conversions", params={"q": HOSTILE})
        assert HOSTILE not in page.text
        assert str(escape(HOSTILE)) in page.text


class TestConversionPage:
    async def test_history_in_order_with_payloads(self, admin, db):
        ids = [
            await send(admin, "CV-1", status="pending", aff_sub=HOSTILE),
            await send(admin, "CV-1", status="pending"),
            await send(admin, "CV-1", status="approved"),
        ]
        page = await admin.get(f"/admin/conversions/{ids[1]}", params={"lang": "en"})
        assert page.status_code == 200
        entries = re.findall(r'<li class="entry[^"]*" id="entry-(\d+)"', page.text)
        assert [int(i) for i in entries] == ids
        changed = re.findall(r'<li class="entry changed[^"]*" id="entry-(\d+)"', page.text)
        assert [int(i) for i in changed] == [ids[2]]
        assert "changed from pending" in page.text
        assert re.search(rf'class="entry[^"]*chosen" id="entry-{ids[1]}"', page.text)
        assert 'id="current-status">approved<' in page.text
        # The hostile sub-id, in the facts and in the payload, only ever escaped.
        assert "<script>" not in page.text
        assert str(escape(HOSTILE)) in page.text  # the facts
        payloads = re.findall(r'<pre class="payload-json">(.*?)</pre>', page.text, re.S)
        assert "&lt;script&gt;alert(\\&#34;x\\&#34;)&lt;/script&gt;" in payloads[0]
        assert page.text.count('class="payload-json"') == 3
        # The place for forwards is there for the forwarding domain, empty until then.
        assert 'id="conversion-forwards"' not in page.text

    async def test_in_chinese(self, admin, db):
        pk = await send(admin, "CV-2", status="approved")
        page = await admin.get(f"/admin/conversions/{pk}", params={"lang": "zh"})
        assert "历史记录" in page.text
        assert "已批准" in page.text

    async def test_unknown_id(self, admin, db):
        page = await admin.get("/admin/conversions/999999")
        assert page.status_code == 404

    async def test_needs_the_admin(self, client, db):
        pk = await send(client, "CV-3")
        response = await client.get(f"/admin/conversions/{pk}")
        assert response.status_code == 303
