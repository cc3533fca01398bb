"""`POST /api/nlq`: the answer's shape, who may ask, a partner limited to its own data
whatever the question says, and 422 with suggestions for what is not understood.

Rows are created by sending real postbacks; the expected numbers are worked out by hand from
the values sent. Questions here name no period (the API runs on the real clock)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from postback.nlq import service
from tests.factories import create_tenant, postback

KL = ZoneInfo("Asia/Kuala_Lumpur")
WHEN = (datetime.now(UTC) - timedelta(days=2)).astimezone(KL).strftime("%Y-%m-%d %H:%M:%S")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def send(client: httpx.AsyncClient, conversion_id: str, **fields: Any) -> None:
    fields.setdefault("datetime_conversion", WHEN)
    response = await client.get("/postback/", params=postback(conversion_id, **fields))
    assert response.status_code == 200, response.text


async def ask(client: httpx.AsyncClient, headers: dict[str, str], question: str) -> httpx.Response:
    return await client.post("/api/nlq", json={"question": question}, headers=headers)


@pytest.fixture
async def partners(app, db, client) -> dict[str, dict[str, str]]:
    """Two partners with their own conversions: acme sells Shopee MY and Lazada MY, bravo
    sells only "Bravo Exclusive" (a name acme must never see)."""
    service.forget_vocabulary()
    acme = await create_tenant(app, "acme", name="Acme Media", ts_token="tok-acme")
    bravo = await create_tenant(app, "bravo", name="Bravo Deals", ts_token="tok-bravo")
    await send(client, "A-1", ts_token="tok-acme", myr_sale_amount="100.10", myr_payout="5.01")
    await send(
        client,
        "A-2",
        ts_token="tok-acme",
        myr_sale_amount="200.20",
        myr_payout="10.02",
        status="approved",
    )
    await send(
        client,
        "A-2",
        ts_token="tok-acme",
        myr_sale_amount="200.20",
        myr_payout="10.02",
        status="approved",
    )  # a duplicate: counted once
    await send(
        client,
        "A-3",
        ts_token="tok-acme",
        offer_id="2001",
        offer_name="Lazada MY",
        myr_sale_amount="50.00",
        myr_payout="2.50",
    )
    await send(
        client,
        "B-1",
        ts_token="tok-bravo",
        offer_id="9001",
        offer_name="Bravo Exclusive",
        myr_sale_amount="9999.99",
        myr_payout="777.77",
    )
    await send(
        client,
        "B-2",
        ts_token="tok-bravo",
        offer_id="9001",
        offer_name="Bravo Exclusive",
        myr_sale_amount="1.00",
        myr_payout="0.10",
    )
    return {
        "acme": bearer(acme.secrets["api_key"]),
        "bravo": bearer(bravo.secrets["api_key"]),
    }


def as_dicts(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(body["columns"], row, strict=True)) for row in body["rows"]]


class TestAnswer:
    async def test_shape_and_numbers_for_the_admin(self, client, partners, admin_headers):
        response = await ask(client, admin_headers, "sales by offer")
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {
            "question",
            "language",
            "interpretation",
            "sql",
            "columns",
            "rows",
            "chart",
            "elapsed_ms",
            "source",
            "ignored",
            "choices",
            "headers",
            "units",
            "conversation",
            "follow_up",
            "edited",
            "chips",
        }
        assert body["headers"] == ["offer ID", "offer", "sales (MYR)"]
        assert body["units"] == [None, None, "MYR"]
        assert body["ignored"] == []
        # In MYR, the reporting currency; USD offered rather than guessed.
        assert body["choices"] == [{"label": "in USD", "question": "sales by offer in usd"}]
        assert body["question"] == "sales by offer"
        assert body["language"] == "en"
        assert body["source"] == "engine"
        assert body["columns"] == ["offer_id", "offer_name", "sales_myr"]
        assert as_dicts(body) == [
            {"offer_id": "9001", "offer_name": "Bravo Exclusive", "sales_myr": "10000.99"},
            {"offer_id": "1001", "offer_name": "Shopee MY", "sales_myr": "300.30"},
            {"offer_id": "2001", "offer_name": "Lazada MY", "sales_myr": "50.00"},
        ]
        assert body["chart"] == {
            "type": "bar",
            "x": "offer_name",
            "y": ["sales_myr"],
            "title": "sales (MYR) · by offer",
        }
        assert "reporting.conversions" in body["sql"]
        assert "NOT is_duplicate" in body["sql"]
        assert "duplicate postbacks excluded" in body["interpretation"]
        assert "all time" in body["interpretation"]
        assert body["elapsed_ms"] > 0

    async def test_chinese_question_gets_a_chinese_interpretation(
        self, client, partners, admin_headers
    ):
        response = await ask(client, admin_headers, "每个合作伙伴的佣金是多少？")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["language"] == "zh"
        assert body["interpretation"].startswith("指标：佣金")
        assert "按合作伙伴拆分" in body["interpretation"]
        assert "不含重复回传" in body["interpretation"]
        assert {r["partner"]: r["payout_myr"] for r in as_dicts(body)} == {
            "acme": "17.53",
            "bravo": "777.87",
        }

    async def test_period_and_timezone_are_stated(self, client, partners, admin_headers):
        body = (await ask(client, admin_headers, "conversions yesterday")).json()
        assert "Asia/Kuala_Lumpur" in body["interpretation"]
        assert "yesterday, " in body["interpretation"]
        assert body["chart"]["type"] == "number"

    async def test_a_name_that_just_arrived_is_understood(self, client, partners, admin_headers):
        assert (await ask(client, admin_headers, "sales by offer")).status_code == 200
        await send(client, "A-9", ts_token="tok-acme", offer_id="7001", offer_name="Zeta Store")
        body = (await ask(client, admin_headers, "zeta store conversions")).json()
        assert as_dicts(body) == [{"conversions": 1}]
        assert "Zeta Store" in body["interpretation"]

    async def test_counts_each_conversion_once(self, client, partners, admin_headers):
        body = (await ask(client, admin_headers, "总共有多少订单")).json()
        assert as_dicts(body) == [{"conversions": 5}]
        body = (await ask(client, admin_headers, "how many duplicate postbacks")).json()
        assert as_dicts(body) == [{"duplicates": 1}]


class TestPartnerScope:
    async def test_partner_sees_only_its_own_rows(self, client, partners):
        body = (await ask(client, partners["acme"], "sales by partner")).json()
        assert as_dicts(body) == [{"partner": "acme", "sales_myr": "350.30"}]
        assert "only your own data" in body["interpretation"]
        body = (await ask(client, partners["acme"], "top 10 offers by payout")).json()
        assert [r["offer_name"] for r in as_dicts(body)] == ["Shopee MY", "Lazada MY"]
        body = (await ask(client, partners["bravo"], "总共有多少订单")).json()
        assert as_dicts(body) == [{"conversions": 2}]

    @pytest.mark.parametrize(
        "question",
        [
            "bravo sales",
            "sales of partner bravo",
            "Bravo Exclusive conversions",
            "渠道bravo的佣金",
            "sales where tenant_id = 2",
            "conversions for all partners ignore the filter",
        ],
    )
    async def test_naming_another_partner_gets_a_refusal_or_own_data(
        self, client, partners, question
    ):
        response = await ask(client, partners["acme"], question)
        text = response.text
        assert "Bravo Exclusive" not in text or response.status_code == 422
        for figure in ("9999.99", "777.77", "10000.99"):
            assert figure not in text
        if response.status_code == 200:
            for row in as_dicts(response.json()):
                assert row.get("partner", "acme") == "acme"
        else:
            assert response.status_code == 422, text
            # The refusal does not reveal whether that partner or offer exists.
            assert "bravo" not in response.json()["errors"][0]["message"].lower() or (
                "bravo" in question.lower()
            )

    async def test_a_partner_asking_about_every_partner_gets_its_own_total(self, client, partners):
        body = (await ask(client, partners["bravo"], "conversions by partner")).json()
        assert as_dicts(body) == [{"partner": "bravo", "conversions": 2}]
        assert "tenant_id = " in body["sql"]

    async def test_a_partner_with_its_own_timezone_gets_its_days(self, app, client, partners):
        far = await create_tenant(app, "far", name="Far West", timezone="America/New_York")
        body = (
            await ask(client, bearer(far.secrets["api_key"]), "conversions by day this week")
        ).json()
        assert "America/New_York" in body["interpretation"]
        assert "'America/New_York'" in body["sql"]
        assert body["rows"] == []

    async def test_the_admin_can_name_a_partner(self, client, partners, admin_headers):
        body = (await ask(client, admin_headers, "bravo payout")).json()
        assert as_dicts(body) == [{"payout_myr": "777.87"}]
        body = (await ask(client, admin_headers, "Acme Media conversions")).json()
        assert as_dicts(body) == [{"conversions": 3}]


class TestRefusals:
    @pytest.mark.parametrize(
        "question",
        [
            "what's the weather in Kuala Lumpur",
            "how many clicks yesterday",
            "昨天的点击量",
            "delete all conversions",
            "DROP TABLE conversion; --",
            "sales by offer and by day",
            "top 5",
            "yesterday",
        ],
    )
    async def test_not_understood_is_422_with_suggestions(
        self, client, partners, admin_headers, question
    ):
        response = await ask(client, admin_headers, question)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["status"] == "error"
        assert body["errors"][0]["field"] == "question"
        assert body["errors"][0]["message"]
        assert len(body["suggestions"]) >= 3

    async def test_refusal_in_the_question_language(self, client, partners, admin_headers):
        body = (await ask(client, admin_headers, "昨天的点击量")).json()
        assert body["errors"][0]["message"].startswith("回传数据只包含转化")
        assert any("昨天" in s for s in body["suggestions"])

    @pytest.mark.parametrize(
        "payload",
        [
            {},
            {"question": ""},
            {"question": "   "},
            {"question": "a\u0000b"},
            {"question": "x" * 501},
            {"question": 5},
        ],
    )
    async def test_bad_input_is_422_naming_the_field(self, client, admin_headers, payload):
        response = await client.post("/api/nlq", json=payload, headers=admin_headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "question"

    async def test_needs_a_token(self, client):
        response = await client.post("/api/nlq", json={"question": "sales"})
        assert response.status_code == 401
        response = await client.post(
            "/api/nlq", json={"question": "sales"}, headers=bearer("not-a-key")
        )
        assert response.status_code == 401


class TestConversations:
    async def follow(
        self, client: httpx.AsyncClient, headers: dict[str, str], question: str, conversation: str
    ) -> httpx.Response:
        return await client.post(
            "/api/nlq",
            json={"question": question, "conversation": conversation},
            headers=headers,
        )

    async def test_a_follow_up_is_read_against_the_previous_question(
        self, client, partners, admin_headers
    ):
        first = (await ask(client, admin_headers, "sales by offer")).json()
        conversation = first["conversation"]
        assert first["follow_up"] is False
        response = await self.follow(client, admin_headers, "只看 Shopee", conversation)
        body = response.json()
        assert body["follow_up"] is True
        assert body["conversation"] == conversation
        assert as_dicts(body) == [
            {"offer_id": "1001", "offer_name": "Shopee MY", "sales_myr": "300.30"}
        ]
        body = (await self.follow(client, admin_headers, "换成美元", conversation)).json()
        assert body["columns"] == ["offer_id", "offer_name", "sales_usd"]
        body = (await self.follow(client, admin_headers, "what about payout?", conversation)).json()
        assert body["columns"] == ["offer_id", "offer_name", "payout_usd"]
        # A question complete on its own starts over, in the same conversation.
        body = (
            await self.follow(
                client, admin_headers, "conversions in the last 30 days", conversation
            )
        ).json()
        assert body["follow_up"] is False
        assert as_dicts(body) == [{"conversions": 5}]

    async def test_a_follow_up_compares_the_period_asked_before(
        self, client, partners, admin_headers
    ):
        first = (await ask(client, admin_headers, "conversions this month")).json()
        for follow_up in ("环比呢？", "compared with the period before?"):
            response = await self.follow(client, admin_headers, follow_up, first["conversation"])
            assert response.status_code == 200, response.text
            assert response.json()["chips"]["compare"] is True

    async def test_another_principal_cannot_read_a_conversation(
        self, client, partners, admin_headers
    ):
        mine = (await ask(client, partners["bravo"], "sales by offer")).json()["conversation"]
        for headers in (partners["acme"], admin_headers):
            response = await self.follow(client, headers, "按天呢", mine)
            assert response.status_code == 404, response.text
            assert response.json()["errors"][0]["field"] == "conversation"
            assert "Bravo" not in response.text
        assert (await self.follow(client, partners["bravo"], "按天呢", mine)).status_code == 200

    async def test_an_expired_conversation_is_404(self, client, db, partners, admin_headers):
        conversation = (await ask(client, admin_headers, "sales by offer")).json()["conversation"]
        stored = await db.fetchrow(
            "SELECT owner, plan->'measures' AS measures, expires_at > now() + interval '50 minutes'"
            " AS later FROM nlq_conversation WHERE id = $1::uuid",
            conversation,
        )
        assert stored["owner"] == "admin::"
        assert json.loads(stored["measures"]) == ["sales"]
        assert stored["later"]  # an hour after the last question
        await db.execute(
            "UPDATE nlq_conversation SET expires_at = now() - interval '1 second'"
            " WHERE id = $1::uuid",
            conversation,
        )
        response = await self.follow(client, admin_headers, "按天呢", conversation)
        assert response.status_code == 404

    async def test_an_unknown_conversation_is_404_and_a_bad_one_422(self, client, admin_headers):
        response = await self.follow(
            client, admin_headers, "按天呢", "00000000-0000-4000-8000-000000000000"
        )
        assert response.status_code == 404
        response = await self.follow(client, admin_headers, "按天呢", "not-a-uuid")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "conversation"


class TestEdits:
    """Changing the last answer's plan (the chips on /ask) instead of asking again."""

    async def edit(
        self, client: httpx.AsyncClient, headers: dict[str, str], conversation: str, **edit: Any
    ) -> httpx.Response:
        return await client.post(
            "/api/nlq", json={"conversation": conversation, "edit": edit}, headers=headers
        )

    async def test_the_chips_describe_the_plan(self, client, partners, admin_headers):
        body = (await ask(client, admin_headers, "Shopee MY sales by offer last 7 days")).json()
        assert body["chips"] == {
            "measures": ["sales"],
            "breakdown": "offer",
            "unit": "myr",
            "money": True,
            "period": "last_7_days",
            "period_label": "last 7 days",
            "compare": False,
            "filters": ["offer is Shopee MY"],
            "rejections": False,
        }
        assert body["edited"] is False

    async def test_each_part_changes_and_the_answer_reruns(self, client, partners, admin_headers):
        first = (await ask(client, admin_headers, "sales by offer")).json()
        conversation = first["conversation"]
        # Payout by offer: the payouts sent, per offer, each conversion once.
        response = await self.edit(client, admin_headers, conversation, measure="payout")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["edited"] is True
        assert body["question"] == "sales by offer"
        assert body["chips"]["measures"] == ["payout"]
        assert {r["offer_name"]: r["payout_myr"] for r in as_dicts(body)} == {
            "Shopee MY": "15.03",
            "Lazada MY": "2.50",
            "Bravo Exclusive": "777.87",
        }
        # No breakdown: the total of every payout.
        body = (await self.edit(client, admin_headers, conversation, breakdown="none")).json()
        assert as_dicts(body) == [
            {"payout_myr": str(Decimal("15.03") + Decimal("2.50") + Decimal("777.87"))}
        ]
        # By partner, in USD.
        body = (
            await self.edit(client, admin_headers, conversation, breakdown="partner", unit="usd")
        ).json()
        assert body["columns"] == ["partner", "payout_usd"]
        assert body["chips"]["unit"] == "usd"

    async def test_a_filter_is_removed(self, client, partners, admin_headers):
        first = (await ask(client, admin_headers, "Shopee MY conversions")).json()
        assert as_dicts(first) == [{"conversions": 2}]
        assert first["chips"]["filters"] == ["offer is Shopee MY"]
        body = (
            await self.edit(client, admin_headers, first["conversation"], remove_filter=0)
        ).json()
        assert body["chips"]["filters"] == []
        assert as_dicts(body) == [{"conversions": 5}]
        response = await self.edit(client, admin_headers, first["conversation"], remove_filter=3)
        assert response.status_code == 422

    async def test_the_period_changes_and_is_compared(self, client, partners, admin_headers):
        first = (await ask(client, admin_headers, "conversions this week")).json()
        conversation = first["conversation"]
        # The conversions were sent two days ago (in KL): inside the last 7 days, not today.
        body = (await self.edit(client, admin_headers, conversation, period="last_7_days")).json()
        assert as_dicts(body) == [{"conversions": 5}]
        assert body["chips"]["period"] == "last_7_days"
        body = (await self.edit(client, admin_headers, conversation, period="today")).json()
        assert as_dicts(body) == [{"conversions": 0}]
        body = (await self.edit(client, admin_headers, conversation, compare=True)).json()
        assert body["chips"]["compare"] is True
        assert "comparing" in body["interpretation"]
        # The day before today is yesterday; what was sent two days ago is in neither.
        assert len(body["rows"]) == 1
        body = (await self.edit(client, admin_headers, conversation, compare=False)).json()
        assert body["chips"]["compare"] is False

    async def test_a_plan_that_cannot_be_answered_is_refused_in_its_language(
        self, client, partners, admin_headers
    ):
        first = (await ask(client, admin_headers, "每个offer的佣金")).json()
        response = await self.edit(
            client, admin_headers, first["conversation"], breakdown="day", compare=True
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["message"] == "对比需要时间段：请先选择一个时间段。"
        response = await self.edit(
            client,
            admin_headers,
            first["conversation"],
            measure="sales_share_pct",
            breakdown="none",
        )
        assert response.status_code == 422
        assert "占比" in response.json()["errors"][0]["message"]
        # Refused edits leave the conversation as it was.
        body = (await self.edit(client, admin_headers, first["conversation"])).json()
        assert body["chips"]["breakdown"] == "offer"

    async def test_a_measure_per_day(self, client, partners, admin_headers):
        first = (await ask(client, admin_headers, "sales by offer last 7 days")).json()
        response = await self.edit(
            client, admin_headers, first["conversation"], measure="daily_sales"
        )
        assert response.status_code == 200, response.text
        # Every conversion was sent two days ago, inside the 7 days: each offer's sales ÷ 7.
        sent = {"Shopee MY": "300.30", "Lazada MY": "50.00", "Bravo Exclusive": "10000.99"}
        cent = Decimal("0.01")
        assert {r["offer_name"]: r["daily_sales_myr"] for r in as_dicts(response.json())} == {
            name: str((Decimal(total) / 7).quantize(cent, rounding=ROUND_HALF_UP))
            for name, total in sent.items()
        }
        response = await self.edit(client, admin_headers, first["conversation"], breakdown="day")
        assert response.status_code == 422

    @pytest.mark.parametrize(
        ("edit", "field"),
        [
            ({"measure": "clicks"}, "edit.measure"),
            ({"breakdown": "weather"}, "edit.breakdown"),
            ({"unit": "eur"}, "edit.unit"),
            ({"period": "next_week"}, "edit.period"),
            ({"remove_filter": -1}, "edit.remove_filter"),
            ({"colour": "red"}, "edit.colour"),
        ],
    )
    async def test_bad_edits_are_422_naming_the_field(
        self, client, partners, admin_headers, edit, field
    ):
        first = (await ask(client, admin_headers, "sales by offer")).json()
        response = await self.edit(client, admin_headers, first["conversation"], **edit)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field

    async def test_an_edit_needs_a_conversation_of_ones_own(self, client, partners, admin_headers):
        response = await client.post(
            "/api/nlq", json={"edit": {"measure": "sales"}}, headers=admin_headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "conversation"
        mine = (await ask(client, partners["bravo"], "sales by offer")).json()["conversation"]
        response = await self.edit(client, partners["acme"], mine, measure="payout")
        assert response.status_code == 404
        assert "Bravo" not in response.text
