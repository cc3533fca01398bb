"""`/admin/rejections` over HTTP: signed-in admin only, the payload shown as escaped text,
filters, replay (corrected, still refused, bulk) behind the session's CSRF token."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx

from tests.admin.conftest import csrf_in
from tests.factories import create_tenant, postback

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def refused(client: httpx.AsyncClient, db: asyncpg.Connection, **params: Any) -> int:
    response = await client.get("/postback/", params=params)
    assert response.status_code == 422, response.text
    return int(await db.fetchval("SELECT max(id) FROM rejection"))


class TestTheList:
    async def test_needs_the_admin(self, client):
        response = await client.get("/admin/rejections")
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/login?next=/admin/rejections"

    async def test_shows_the_payload_as_text(self, admin, db):
        rejection_id = await refused(admin, db, **postback("PG-1", aff_sub=EVIL, usd_payout="?"))
        page = await admin.get("/admin/rejections")
        assert page.status_code == 200
        assert EVIL not in page.text
        # As JSON text (its quotes escaped), then as HTML text.
        assert "&lt;script&gt;alert(\\&#34;x\\&#34;)&lt;/script&gt;" in page.text
        assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
        row = re.search(rf'<tr id="rejection-{rejection_id}".*?</tr>', page.text, re.S)
        assert row is not None
        assert "usd_payout" in row.group(0)
        assert 'name="field.usd_payout" value="?"' in row.group(0)

    async def test_whole_request_refusals_are_listed(self, admin, db):
        response = await admin.post(
            "/postback/",
            content=b"conversion_id=1&pad=" + b"z" * 70_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 413
        page = await admin.get("/admin/rejections", params={"reason": "too_large"})
        assert "conversion_id=1&amp;pad=zzz" in page.text
        assert 'class="badge off truncated"' in page.text
        assert "1 matching." in page.text

    async def test_filters(self, app, admin, db):
        await create_tenant(app, "alpha", ts_token="tok-alpha")
        mine = await refused(admin, db, conversion_id="AL-1", ts_token="tok-alpha", usd_payout="?")
        other = await refused(admin, db, conversion_id="OT-1", usd_payout="?")
        page = await admin.get("/admin/rejections", params={"tenant": "alpha"})
        assert f'id="rejection-{mine}"' in page.text
        assert f'id="rejection-{other}"' not in page.text
        bad = await admin.get("/admin/rejections", params={"reason": "nonsense"})
        assert bad.status_code == 422
        assert "<strong>reason</strong>" in bad.text
        bad_time = await admin.get("/admin/rejections", params={"since": "soon"})
        assert bad_time.status_code == 422
        assert "<strong>since</strong>" in bad_time.text


class TestReplay:
    async def test_corrected_in_the_form(self, admin, db):
        rejection_id = await refused(admin, db, **postback("PG-2", usd_payout="1,5"))
        page = await admin.get("/admin/rejections", params={"reason": "invalid"})
        response = await admin.post(
            f"/admin/rejections/{rejection_id}/replay",
            data={
                "csrf_token": csrf_in(page.text),
                "field.usd_payout": "1.50",
                "back": "reason=invalid",
            },
        )
        assert response.status_code == 303
        target = urlsplit(response.headers["location"])
        conversion_pk = await db.fetchval("SELECT id FROM conversion WHERE conversion_id = 'PG-2'")
        assert parse_qs(target.query) == {
            "reason": ["invalid"],
            "notice": ["replayed"],
            "conversion": [str(conversion_pk)],
        }
        after = await admin.get(response.headers["location"])
        assert f"Replayed as conversion #{conversion_pk}." in after.text
        row = await db.fetchrow("SELECT * FROM rejection WHERE id = $1", rejection_id)
        assert (row["replayed_by"], row["replayed_conversion_pk"]) == (
            "admin (browser)",
            conversion_pk,
        )

    async def test_still_refused_shows_why(self, admin, db):
        rejection_id = await refused(admin, db, **postback("PG-3", usd_payout="1,5"))
        page = await admin.get("/admin/rejections")
        response = await admin.post(
            f"/admin/rejections/{rejection_id}/replay",
            data={"csrf_token": csrf_in(page.text), "field.usd_payout": "one"},
        )
        assert response.status_code == 422
        assert f"<strong>#{rejection_id} usd_payout</strong>" in response.text
        assert await db.fetchval("SELECT count(*) FROM conversion") == 0

    async def test_without_the_csrf_token(self, admin, db):
        rejection_id = await refused(admin, db, **postback("PG-4", usd_payout="?"))
        response = await admin.post(f"/admin/rejections/{rejection_id}/replay", data={})
        assert response.status_code == 403
        bulk = await admin.post("/admin/rejections/replay", data={"csrf_token": "forged"})
        assert bulk.status_code == 403
        assert await db.fetchval("SELECT count(*) FROM conversion") == 0

    async def test_bulk(self, admin, db):
        await refused(admin, db, **postback("PG-5", status=["a", "b"]))
        await refused(admin, db, **postback("PG-6", usd_payout="?"))
        page = await admin.get("/admin/rejections")
        response = await admin.post(
            "/admin/rejections/replay",
            data={"csrf_token": csrf_in(page.text), "reason": "invalid"},
        )
        assert response.status_code == 303
        query = parse_qs(urlsplit(response.headers["location"]).query)
        assert query["still_invalid"] == ["1"]
        assert query["replayed"] == ["0"]
        after = await admin.get(response.headers["location"])
        assert "Replayed 0; still refused 1; already replayed 0; not stored now 0." in after.text

    async def test_an_unknown_rejection(self, admin):
        page = await admin.get("/admin/rejections")
        response = await admin.post(
            "/admin/rejections/424242/replay", data={"csrf_token": csrf_in(page.text)}
        )
        assert response.status_code == 404
