"""The admin's forwarding pages over HTTP: a partner's forwards managed through forms (with
every refusal next to its field, in both languages), secrets shown once after the redirect,
send test, re-send, and the delivery log with every attempt, escaped."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from postback.admin.labels import LABELS
from postback.admin.pages import TEMPLATES
from postback.forwarding import macros, pages
from postback.forwarding.routes import _policy
from postback.forwarding.service import Policy
from postback.web import session as browser
from postback.web.labels import Translator
from tests.admin.conftest import csrf_of, sign_in
from tests.factories import create_tenant, postback
from tests.forwarding.helpers import eventually, send, settled

EN = Translator("en", LABELS)
ZH = Translator("zh", LABELS)


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return response.headers["location"]


def forward_form(url: str, **fields: Any) -> dict[str, Any]:
    """The add form as a browser sends it: checkboxes present only when ticked."""
    data: dict[str, Any] = {
        "url": url,
        "method": "GET",
        "events": ["created", "status_changed"],
        "statuses": "",
        "offers": "",
        "payout_percent": "",
        "enabled": "on",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, Any], page: str | None = None
) -> httpx.Response:
    data = {**data, "csrf_token": await csrf_of(client, page or path)}
    return await client.post(path, data=data)


def text_of(page: str) -> str:
    """The page's visible text, roughly: tags dropped, entities unescaped."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def field_errors(page: str, field: str) -> list[str]:
    found = re.findall(rf'<p class="field-error" role="alert" data-field="{field}">(.*?)</p>', page)
    return [html.unescape(message) for message in found]


@pytest.fixture
async def acme(app, db) -> int:
    created = await create_tenant(app, "acme", ts_token="tok-acme")
    return created.tenant.id


def forwards_path(tenant_id: int) -> str:
    return f"/admin/partners/{tenant_id}/forwards"


async def add(admin: httpx.AsyncClient, tenant_id: int, url: str, **fields: Any) -> int:
    """A forward added through the form; its id."""
    response = await post_form(admin, forwards_path(tenant_id), forward_form(url, **fields))
    found = re.fullmatch(rf"{forwards_path(tenant_id)}#forward-(\d+)", location(response))
    assert found, response.headers["location"]
    return int(found[1])


class TestAddForward:
    async def test_empty_page_lists_every_macro(self, admin, acme):
        page = (await admin.get(forwards_path(acme))).text
        assert EN("no_forwards") in page
        shown = set(re.findall(r'<code class="macro">\{(\w+)\}</code>', page))
        assert shown == set(macros.MACROS)
        # The macros the issue promises operators, by name.
        for name in ("conversion_id", "payout", "usd_payout", "aff_sub4", "adv_sub5", "attempt"):
            assert name in shown

    async def test_added_through_the_form(self, admin, db, receiver, acme):
        url = receiver.base + "/pb?click={aff_sub}&amount={payout}"
        fields = {
            "statuses": " approved, rejected，pending ",
            "offers": "1001,, 1002",
            "payout_percent": "37.5",
            "events": ["created"],
        }
        forward_id = await add(admin, acme, url, **fields)
        row = await db.fetchrow("SELECT * FROM forward WHERE id = $1", forward_id)
        assert row["tenant_id"] == acme
        assert row["url"] == url
        assert row["method"] == "GET"
        assert row["events"] == ["created"]
        assert row["statuses"] == ["approved", "rejected", "pending"]
        assert row["offers"] == ["1001", "1002"]
        assert row["payout_percent"] == Decimal("37.5")
        assert row["signing_secret"] is None
        assert row["enabled"] is True

        page = (await admin.get(forwards_path(acme))).text
        card = page.split(f'id="forward-{forward_id}"')[1].split("</section>")[0]
        assert EN("notice_forward_added") in page
        assert html.escape(url) in card
        assert "approved, rejected, pending" in card
        assert "1001, 1002" in card
        assert "37.5%" in card
        assert EN("active") in card
        assert EN("failing", count=0)[:7] not in card
        # Seen once: the notice is gone on reload.
        assert EN("notice_forward_added") not in (await admin.get(forwards_path(acme))).text

    async def test_a_forward_added_sends(self, admin, db, client, receiver, acme):
        await add(admin, acme, receiver.base + "/sent?c={conversion_id}&p={payout}")
        await send(client, "FWD-1", "tok-acme", payout_local="6.02")
        (hit,) = await eventually(lambda: receiver.to("/sent"))
        assert hit.query == {"c": "FWD-1", "p": "6.02"}

    async def test_nothing_without_the_csrf_token(self, admin, db, receiver, acme):
        response = await admin.post(forwards_path(acme), data=forward_form(receiver.base + "/x"))
        assert response.status_code == 403
        assert await db.fetchval("SELECT count(*) FROM forward") == 0


class TestRefusedNextToTheField:
    @pytest.mark.parametrize("language", ["en", "zh"])
    async def test_unknown_macro(self, admin, db, receiver, acme, language):
        t = Translator(language, LABELS)
        url = receiver.base + "/x?c={conversion_id}&p={payot}&q={Status}"
        response = await post_form(
            admin, f"{forwards_path(acme)}?lang={language}", forward_form(url)
        )
        assert response.status_code == 422
        assert field_errors(response.text, "url") == [
            t("error_unknown_macro", names="{payot}, {Status}")
        ]
        assert t("fix_fields_below") in response.text
        # The form comes back as sent, and nothing is kept.
        assert f'value="{html.escape(url)}"' in response.text
        assert await db.fetchval("SELECT count(*) FROM forward") == 0

    @pytest.mark.parametrize("language", ["en", "zh"])
    async def test_private_address_refused(self, app, admin, db, acme, language):
        t = Translator(language, LABELS)
        strict = Policy(retry_seconds=(1.0,), allow_private=False, flag_after=3, zone="UTC")
        app.api.dependency_overrides[_policy] = lambda: strict
        try:
            response = await post_form(
                admin,
                f"{forwards_path(acme)}?lang={language}",
                forward_form("http://169.254.169.254/latest/meta-data?c={conversion_id}"),
            )
        finally:
            del app.api.dependency_overrides[_policy]
        assert response.status_code == 422
        assert field_errors(response.text, "url") == [
            t("error_target_private", host="169.254.169.254", addresses="169.254.169.254")
        ]
        assert await db.fetchval("SELECT count(*) FROM forward") == 0

    @pytest.mark.parametrize("language", ["en", "zh"])
    async def test_signing_needs_post(self, admin, db, receiver, acme, language):
        t = Translator(language, LABELS)
        response = await post_form(
            admin,
            f"{forwards_path(acme)}?lang={language}",
            forward_form(receiver.base + "/g", signing="on"),
        )
        assert response.status_code == 422
        assert field_errors(response.text, "signing") == [t("error_signing_needs_post")]
        assert field_errors(response.text, "url") == []
        assert 'id="signing" name="signing" value="on" checked' in response.text

    @pytest.mark.parametrize(
        ("fields", "field", "key"),
        [
            ({"events": None}, "events", "error_events_required"),
            ({"payout_percent": "150"}, "payout_percent", "error_percent_range"),
            ({"payout_percent": "-1"}, "payout_percent", "error_percent_range"),
            ({"payout_percent": "half"}, "payout_percent", "error_percent_number"),
            ({"payout_percent": "12.345"}, "payout_percent", "error_percent_places"),
            ({"url": "  "}, "url", "error_required"),
            ({"url": "ftp://files.example/x"}, "url", "error_target_scheme"),
        ],
    )
    async def test_worded_in_chinese(self, admin, db, receiver, acme, fields, field, key):
        data = {**forward_form(receiver.base + "/x"), **fields}
        data = {name: value for name, value in data.items() if value is not None}
        response = await post_form(admin, f"{forwards_path(acme)}?lang=zh", data)
        assert response.status_code == 422
        assert field_errors(response.text, field) == [ZH(key)]
        assert await db.fetchval("SELECT count(*) FROM forward") == 0

    async def test_a_message_no_label_words_is_shown_as_written(self, admin, receiver, acme):
        data = forward_form(receiver.base + "/x", method="PUT")
        response = await post_form(admin, forwards_path(acme), data)
        assert response.status_code == 422
        (message,) = field_errors(response.text, "method")
        assert "'GET' or 'POST'" in message


class TestShownOnce:
    async def test_signing_secret_after_the_redirect_only(self, admin, db, receiver, acme):
        data = forward_form(receiver.base + "/signed", method="POST", signing="on")
        response = await post_form(admin, forwards_path(acme), data)
        target = location(response)
        secret = await db.fetchval("SELECT signing_secret FROM forward")
        assert secret.startswith("whsec_")
        assert secret not in response.text
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(browser.ONCE_COOKIE + "=")
        assert f"Path={forwards_path(acme)};" in cookie
        assert "HttpOnly" in cookie
        assert "Max-Age=300" in cookie

        shown = await admin.get(target)
        assert re.search(rf'id="signing-secret">{re.escape(secret)}<', shown.text)
        assert EN("shown_once") in shown.text
        assert browser.ONCE_COOKIE in shown.headers["set-cookie"]  # dropped by the browser
        again = await admin.get(target)
        assert secret not in again.text
        assert 'id="shown-once"' not in again.text

    async def test_only_for_the_session_it_was_made_in(self, app, admin, db, receiver, acme):
        data = forward_form(receiver.base + "/signed", method="POST", signing="on")
        response = await post_form(admin, forwards_path(acme), data)
        kept = admin.cookies[browser.ONCE_COOKIE]
        secret = await db.fetchval("SELECT signing_secret FROM forward")
        transport = httpx.ASGITransport(app=app, client=("203.0.113.50", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            assert location(await sign_in(other)) == "/admin"
            other.cookies.set(browser.ONCE_COOKIE, kept, path=forwards_path(acme))
            page = await other.get(location(response))
        assert page.status_code == 200
        assert secret not in page.text

    async def test_gone_after_five_minutes(self, admin, db, receiver, acme, monkeypatch):
        import time

        data = forward_form(receiver.base + "/signed", method="POST", signing="on")
        target = location(await post_form(admin, forwards_path(acme), data))
        secret = await db.fetchval("SELECT signing_secret FROM forward")
        later = time.time() + browser.ONCE_MAX_AGE + 1
        monkeypatch.setattr(time, "time", lambda: later)
        page = await admin.get(target)
        assert page.status_code == 200
        assert secret not in page.text

    async def test_a_forged_cookie_shows_nothing(self, admin, acme):
        admin.cookies.set(browser.ONCE_COOKIE, "eyJzZWNyZXQiOiJ4In0.forged", path="/")
        page = await admin.get(forwards_path(acme))
        assert page.status_code == 200
        assert 'id="shown-once"' not in page.text


class TestEditForward:
    SECRET_URL = "/pb?token=s3cret-value&c={conversion_id}"

    async def test_the_form_comes_filled_and_the_secret_masked(self, admin, receiver, acme):
        forward_id = await add(
            admin,
            acme,
            receiver.base + self.SECRET_URL,
            statuses="approved",
            payout_percent="50",
            events=["status_changed"],
        )
        page = (await admin.get(f"{forwards_path(acme)}/{forward_id}")).text
        assert "s3cret-value" not in page
        assert html.escape(receiver.base + "/pb?token=***&c={conversion_id}") in page
        assert EN("forward_url_masked") in page
        assert 'value="approved"' in page
        assert 'value="50"' in page
        assert 'value="status_changed" id="event-status_changed" checked' in page
        assert 'value="created" id="event-created">' in page
        assert "s3cret-value" not in (await admin.get(forwards_path(acme))).text

    async def test_saved_with_the_masked_url_keeps_the_real_one(self, admin, db, receiver, acme):
        url = receiver.base + self.SECRET_URL
        forward_id = await add(admin, acme, url, payout_percent="50", statuses="approved")
        path = f"{forwards_path(acme)}/{forward_id}"
        shown = macros.masked(url)
        response = await post_form(
            admin, path, {**forward_form(shown, offers="2002"), "url_shown": shown}
        )
        assert location(response) == f"{forwards_path(acme)}#forward-{forward_id}"
        row = await db.fetchrow("SELECT * FROM forward WHERE id = $1", forward_id)
        assert row["url"] == url
        assert row["offers"] == ["2002"]
        assert row["statuses"] is None  # emptied: every status
        assert row["payout_percent"] is None  # emptied: all of it
        assert EN("notice_forward_saved") in (await admin.get(location(response))).text

    async def test_a_changed_url_with_a_hidden_value_left_is_refused(
        self, admin, db, receiver, acme
    ):
        url = receiver.base + self.SECRET_URL
        forward_id = await add(admin, acme, url)
        shown = macros.masked(url)
        response = await post_form(
            admin,
            f"{forwards_path(acme)}/{forward_id}?lang=zh",
            {**forward_form(shown + "&x=1"), "url_shown": shown},
        )
        assert response.status_code == 422
        assert field_errors(response.text, "url") == [ZH("error_url_masked")]
        assert await db.fetchval("SELECT url FROM forward") == url

    async def test_a_url_typed_in_full_replaces_it(self, admin, db, receiver, acme):
        forward_id = await add(admin, acme, receiver.base + self.SECRET_URL)
        new = receiver.base + "/new?token=other&c={order_id}"
        shown = macros.masked(receiver.base + self.SECRET_URL)
        response = await post_form(
            admin,
            f"{forwards_path(acme)}/{forward_id}",
            {**forward_form(new), "url_shown": shown},
        )
        location(response)
        assert await db.fetchval("SELECT url FROM forward") == new

    async def test_refused_edit_shows_the_error_and_keeps_the_forward(
        self, admin, db, receiver, acme
    ):
        url = receiver.base + "/ok?c={conversion_id}"
        forward_id = await add(admin, acme, url)
        response = await post_form(
            admin,
            f"{forwards_path(acme)}/{forward_id}",
            {**forward_form(url + "&x={nope}"), "url_shown": url},
        )
        assert response.status_code == 422
        assert field_errors(response.text, "url") == [EN("error_unknown_macro", names="{nope}")]
        assert await db.fetchval("SELECT url FROM forward") == url

    async def test_signing_turned_on_shows_its_secret_once(self, admin, db, receiver, acme):
        url = receiver.base + "/post"
        forward_id = await add(admin, acme, url, method="POST")
        response = await post_form(
            admin,
            f"{forwards_path(acme)}/{forward_id}",
            {**forward_form(url, method="POST", signing="on"), "url_shown": url},
        )
        secret = await db.fetchval("SELECT signing_secret FROM forward")
        assert secret.startswith("whsec_")
        assert secret in (await admin.get(location(response))).text
        assert secret not in (await admin.get(location(response))).text
        # Turned off again: no secret kept.
        response = await post_form(
            admin,
            f"{forwards_path(acme)}/{forward_id}",
            {**forward_form(url, method="POST"), "url_shown": url},
        )
        location(response)
        assert await db.fetchval("SELECT signing_secret FROM forward") is None

    @pytest.mark.parametrize("path", ["/999999", "/abc"])
    async def test_unknown_forward(self, admin, acme, path):
        response = await admin.get(forwards_path(acme) + path)
        assert response.status_code == 404
        assert EN("not_found") in response.text

    async def test_another_partners_forward_is_not_found(self, app, admin, db, receiver, acme):
        other = (await create_tenant(app, "other")).tenant.id
        forward_id = await add(admin, other, receiver.base + "/theirs")
        assert (await admin.get(f"{forwards_path(acme)}/{forward_id}")).status_code == 404
        csrf = await csrf_of(admin, forwards_path(acme))
        for action in ("delete", "pause", "test", "resend", "rotate-secret"):
            response = await admin.post(
                f"{forwards_path(acme)}/{forward_id}/{action}", data={"csrf_token": csrf}
            )
            assert response.status_code == 404, action
        assert await db.fetchval("SELECT enabled FROM forward WHERE id = $1", forward_id) is True


class TestActions:
    async def test_pause_and_resume(self, admin, db, receiver, acme):
        forward_id = await add(admin, acme, receiver.base + "/p")
        page = (await admin.get(forwards_path(acme))).text
        assert f'data-confirm="{html.escape(EN("pause_confirm"))}"' in page
        path = f"{forwards_path(acme)}/{forward_id}"
        location(await post_form(admin, path + "/pause", {}, forwards_path(acme)))
        assert await db.fetchval("SELECT enabled FROM forward") is False
        page = (await admin.get(forwards_path(acme))).text
        assert EN("notice_forward_paused") in page
        assert EN("paused") in page
        location(await post_form(admin, path + "/resume", {}, forwards_path(acme)))
        assert await db.fetchval("SELECT enabled FROM forward") is True

    async def test_delete_asks_first(self, admin, db, receiver, acme):
        forward_id = await add(admin, acme, receiver.base + "/d")
        page = (await admin.get(forwards_path(acme))).text
        assert f'/delete" data-confirm="{html.escape(EN("delete_confirm"))}"' in page
        path = f"{forwards_path(acme)}/{forward_id}/delete"
        assert location(await post_form(admin, path, {}, forwards_path(acme))) == (
            forwards_path(acme)
        )
        assert await db.fetchval("SELECT count(*) FROM forward") == 0
        assert EN("notice_forward_deleted") in (await admin.get(forwards_path(acme))).text

    async def test_rotate_signing_secret(self, admin, db, receiver, acme):
        data = forward_form(receiver.base + "/r", method="POST", signing="on")
        location(await post_form(admin, forwards_path(acme), data))
        old = await db.fetchval("SELECT signing_secret FROM forward")
        forward_id = await db.fetchval("SELECT id FROM forward")
        await admin.get(forwards_path(acme))  # the creation's secret, seen
        response = await post_form(
            admin, f"{forwards_path(acme)}/{forward_id}/rotate-secret", {}, forwards_path(acme)
        )
        new = await db.fetchval("SELECT signing_secret FROM forward")
        assert new != old
        page = (await admin.get(location(response))).text
        assert EN("notice_secret_rotated") in page
        assert new in page
        assert old not in page
        assert new not in (await admin.get(forwards_path(acme))).text

    @pytest.mark.parametrize("language", ["en", "zh"])
    async def test_rotate_refused_for_a_get_forward(self, admin, receiver, acme, language):
        t = Translator(language, LABELS)
        forward_id = await add(admin, acme, receiver.base + "/g")
        response = await post_form(
            admin, f"{forwards_path(acme)}/{forward_id}/rotate-secret", {}, forwards_path(acme)
        )
        target = location(response).split("#")[0]
        page = (await admin.get(f"{target}?lang={language}")).text
        assert t("error_signing_needs_post") in html.unescape(page)

    async def test_send_test_shows_the_answer(self, admin, db, receiver, acme):
        receiver.plans["/probe"].body = b"accepted <b>thanks</b>"
        forward_id = await add(admin, acme, receiver.base + "/probe?c={conversion_id}&key=k1")
        response = await post_form(
            admin, f"{forwards_path(acme)}/{forward_id}/test", {}, forwards_path(acme)
        )
        assert [r.query["c"] for r in receiver.to("/probe")] == ["TEST-0001"]
        page = (await admin.get(location(response))).text
        result = page.split('id="test-result"')[1].split("</dl>")[0]
        assert EN("test_ok") in result
        assert '<dd id="test-status">200</dd>' in result
        assert "accepted &lt;b&gt;thanks&lt;/b&gt;" in result
        assert "key=***" in result
        assert "k1" not in result
        assert await db.fetchval("SELECT count(*) FROM delivery") == 0
        assert 'id="test-result"' not in (await admin.get(forwards_path(acme))).text

    async def test_send_test_to_a_failing_receiver(self, admin, receiver, acme):
        receiver.plans["/probe"].statuses = [503]
        receiver.plans["/probe"].body = b"down for maintenance"
        forward_id = await add(admin, acme, receiver.base + "/probe")
        response = await post_form(
            admin, f"{forwards_path(acme)}/{forward_id}/test", {}, forwards_path(acme)
        )
        page = (await admin.get(location(response).split("#")[0] + "?lang=zh")).text
        result = page.split('id="test-result"')[1].split("</dl>")[0]
        assert ZH("test_failed") in result
        assert '<dd id="test-status">503</dd>' in result
        assert "down for maintenance" in result

    async def test_send_test_to_nobody(self, admin, acme):
        forward_id = await add(admin, acme, "http://127.0.0.1:9/closed")
        response = await post_form(
            admin, f"{forwards_path(acme)}/{forward_id}/test", {}, forwards_path(acme)
        )
        page = (await admin.get(location(response))).text
        assert '<dd id="test-status">—</dd>' in page
        assert 'id="test-error">ClientConnectorError' in page


async def failing_forward(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, db: Any, receiver: Any, tenant_id: int
) -> int:
    """A forward whose receiver always fails, and three conversions that died sending to it."""
    receiver.plans["/down"].statuses = [500] * 100
    forward_id = await add(admin, tenant_id, receiver.base + "/down?c={conversion_id}")
    for conversion_id in ("DEAD-1", "DEAD-2", "DEAD-3"):
        await send(client, conversion_id, "tok-acme")
    assert await settled(db, 3) == {"dead": 3}
    return forward_id


class TestFailing:
    @pytest.mark.parametrize("language", ["en", "zh"])
    async def test_flagged_never_disabled_then_resent(
        self, admin, client, db, receiver, acme, language
    ):
        t = Translator(language, LABELS)
        forward_id = await failing_forward(admin, client, db, receiver, acme)
        page = (await admin.get(f"{forwards_path(acme)}?lang={language}")).text
        card = page.split(f'id="forward-{forward_id}"')[1].split("</section>")[0]
        assert f'<span class="badge failing">{html.escape(t("failing", count=3))}</span>' in card
        assert t("active") in card  # still enabled
        assert '<strong data-state="dead">3</strong>' in card
        assert html.escape(t("resend_dead", count=3)) in card

        receiver.plans["/down"].statuses = []
        response = await post_form(
            admin, f"{forwards_path(acme)}/{forward_id}/resend", {}, forwards_path(acme)
        )
        page = (await admin.get(location(response))).text
        assert t("notice_requeued", count=3) in page
        assert await settled(db, 3) == {"delivered": 3}
        card = (await admin.get(forwards_path(acme))).text.split(f'id="forward-{forward_id}"')[1]
        assert "badge failing" not in card.split("</section>")[0]


class TestDeliveryLog:
    async def test_every_attempt_escaped_and_masked(self, admin, client, db, receiver, acme):
        receiver.plans["/log"].statuses = [500]
        receiver.plans["/log"].body = b"<script>alert(1)</script>"
        forward_id = await add(admin, acme, receiver.base + "/log?c={conversion_id}&token=t0p")
        await send(client, "LOG-1", "tok-acme")
        assert await settled(db, 1) == {"delivered": 1}
        delivery_id = await db.fetchval("SELECT id FROM delivery")

        log = (await admin.get(f"/admin/partners/{acme}/deliveries")).text
        row = log.split(f'id="delivery-{delivery_id}"')[1].split("</tr>")[0]
        assert "LOG-1" in row
        assert EN("state_delivered") in row
        assert f"#{forward_id}" in row
        attempts = log.split(f'id="attempts-{delivery_id}"')[1].split("</details>")[0]
        assert EN("show_attempts", count=2) in attempts
        assert attempts.count('<tr class="attempt"') == 2

        page = (await admin.get(f"/admin/partners/{acme}/deliveries/{delivery_id}")).text
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "t0p" not in page
        assert "token=***" in page
        numbers = re.findall(r'<tr class="attempt" data-number="(\d+)">', page)
        assert numbers == ["1", "2"]
        codes = re.findall(r'<td class="num status-code">(\d*)</td>', page)
        assert codes == ["500", "200"]
        assert f'action="/admin/partners/{acme}/deliveries/{delivery_id}/resend"' not in page

    async def test_filters_and_pages(self, admin, app, db, acme):
        """55 deliveries (two forwards, three states, written straight into the table): the
        log shows them newest first, 50 a page, and each filter narrows them."""
        forwards = [
            await db.fetchval(
                "INSERT INTO forward (tenant_id, url, events, enabled)"
                f" VALUES ($1, 'http://127.0.0.1:9/f{n}', '{{created}}', false) RETURNING id",
                acme,
            )
            for n in (1, 2)
        ]
        sent = await admin.get("/postback/", params=postback("PAGE-1", ts_token="tok-acme"))
        conversion = sent.json()["id"]
        states = ("pending", "delivered", "dead")
        made = []
        for n in range(55):
            made.append(
                (
                    await db.fetchval(
                        "INSERT INTO delivery (forward_id, tenant_id, conversion_row_id, event,"
                        " status, state) VALUES ($1, $2, $3, 'created', $4, $5)"
                        " RETURNING id",
                        forwards[n % 2],
                        acme,
                        conversion,
                        f"status-{n}",
                        states[n % 3],
                    ),
                    forwards[n % 2],
                    states[n % 3],
                )
            )
        newest_first = sorted(made, reverse=True)
        log = f"/admin/partners/{acme}/deliveries"

        def ids(page: str) -> list[int]:
            return [int(i) for i in re.findall(r'<tr class="delivery" id="delivery-(\d+)"', page)]

        first = (await admin.get(log)).text
        assert ids(first) == [d[0] for d in newest_first[:50]]
        older = re.search(r'href="([^"]+)" id="older"', first)
        assert older
        second = (await admin.get(html.unescape(older[1]))).text
        assert ids(second) == [d[0] for d in newest_first[50:]]
        assert 'id="older"' not in second
        assert 'id="newest"' in second

        dead = (await admin.get(log, params={"state": "dead"})).text
        assert ids(dead) == [d[0] for d in newest_first if d[2] == "dead"]
        mine = (await admin.get(log, params={"forward_id": forwards[1], "state": "pending"})).text
        assert ids(mine) == [d[0] for d in newest_first if d[1:] == (forwards[1], "pending")]
        found = (await admin.get(log, params={"conversion_id": "PAGE-1"})).text
        assert len(ids(found)) == 50
        assert ids((await admin.get(log, params={"conversion_id": "NOPE"})).text) == []
        assert EN("no_deliveries") in (await admin.get(log, params={"conversion_id": "X"})).text
        # What a filter form sends empty, or a hand-typed value that is no filter, is ignored.
        loose = {"state": "bogus", "forward_id": "", "conversion_id": "", "before_id": "-3"}
        assert ids((await admin.get(log, params=loose)).text) == ids(first)

    async def test_resend_one_dead_delivery(self, admin, client, db, receiver, acme):
        forward_id = await failing_forward(admin, client, db, receiver, acme)
        dead = await db.fetch("SELECT id FROM delivery ORDER BY id")
        one = dead[0]["id"]
        log = (await admin.get(f"/admin/partners/{acme}/deliveries?forward_id={forward_id}")).text
        assert log.count(EN("resend") + "</button>") == 3
        receiver.plans["/down"].statuses = []
        path = f"/admin/partners/{acme}/deliveries/{one}"
        response = await post_form(admin, path + "/resend", {}, path)
        assert location(response) == path
        page = (await admin.get(path)).text
        assert EN("notice_requeued", count=1) in page
        assert await settled(db, 3) == {"delivered": 1, "dead": 2}
        # A delivered one is not re-sent: said in the page's language.
        again = await post_form(admin, path + "/resend", {}, path)
        page = (await admin.get(location(again) + "?lang=zh")).text
        assert ZH("error_not_dead") in page

    async def test_another_partners_deliveries_stay_theirs(
        self, app, admin, client, db, receiver, acme
    ):
        other = await create_tenant(app, "other", ts_token="tok-other")
        await add(admin, other.tenant.id, receiver.base + "/theirs?c={conversion_id}")
        await send(client, "THEIRS-1", "tok-other")
        await settled(db, 1)
        delivery_id = await db.fetchval("SELECT id FROM delivery")
        log = (await admin.get(f"/admin/partners/{acme}/deliveries")).text
        assert "THEIRS-1" not in log
        assert EN("no_deliveries") in log
        mine = f"/admin/partners/{acme}/deliveries/{delivery_id}"
        assert (await admin.get(mine)).status_code == 404
        theirs = f"/admin/partners/{other.tenant.id}/deliveries/{delivery_id}"
        assert "THEIRS-1" in (await admin.get(theirs)).text


class TestPages:
    async def test_partner_page_links_here(self, admin, acme):
        page = (await admin.get(f"/admin/partners/{acme}")).text
        assert f'href="/admin/partners/{acme}/forwards"' in page
        assert f'href="/admin/partners/{acme}/deliveries"' in page

    async def test_in_chinese(self, admin, receiver, acme):
        await add(admin, acme, receiver.base + "/zh")
        page = (await admin.get(f"{forwards_path(acme)}?lang=zh")).text
        for key in ("forwards", "add_forward", "macros", "send_test", "pause", "delete"):
            assert ZH(key) in page, key
        assert EN("add_forward") not in page
        log = (await admin.get(f"/admin/partners/{acme}/deliveries?lang=zh")).text
        assert ZH("delivery_log") in log
        assert ZH("no_deliveries") in log

    @pytest.mark.parametrize("path", ["/forwards", "/forwards/1", "/deliveries", "/deliveries/1"])
    async def test_unknown_partner(self, admin, path):
        response = await admin.get("/admin/partners/999999" + path)
        assert response.status_code == 404
        assert response.headers["x-frame-options"] == "DENY"

    @pytest.mark.parametrize("path", ["/forwards", "/deliveries"])
    async def test_need_the_admin(self, client, acme, path):
        response = await client.get(f"/admin/partners/{acme}{path}")
        assert location(response).startswith("/admin/login")


class TestLabels:
    def test_every_label_the_pages_use_exists(self):
        used: set[str] = set()
        for template in (TEMPLATES / "forwarding").glob("*.html"):
            used |= set(re.findall(r"""\bt\(\s*["'](\w+)["']""", template.read_text()))
        source = Path(pages.__file__).read_text()
        used |= set(re.findall(r'"((?:notice|error)_\w+)"', source))
        used = {key for key in used if not key.endswith("_")}  # a prefix: completed below
        used |= {f"event_{event}" for event in pages.EVENTS}
        used |= {f"event_{event}_help" for event in pages.EVENTS}
        used |= {f"state_{state}" for state in pages.STATES}
        used |= set(pages.MACRO_GROUPS)
        used |= set(pages.VALIDATION_LABELS.values())
        reasons = ("invalid", "scheme", "no_host", "unresolved", "private")
        used |= {f"error_target_{reason}" for reason in reasons}
        assert used - set(LABELS) == set()

    def test_every_macro_in_one_group(self):
        names = [name for group in pages.MACRO_GROUPS.values() for name in group]
        assert sorted(names) == sorted(macros.MACROS)
