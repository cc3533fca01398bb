"""`GET /api/forecast`: eight weeks of a partner's daily traffic with a weekly rhythm, written
to the real tables (the rollup triggers keep the rollups), give the next 7 local days from
today with a band that follows the rhythm; a partner's key sees its own forecast only; a
partner with less than three weeks of history gets none; the model alone on known series."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from postback.forecasts import model, service
from tests.factories import create_tenant

JAKARTA = ZoneInfo("Asia/Jakarta")


def weekly(day: date) -> int:
    """Conversions on a day: 20 on weekdays, 40 at weekends, a little noise."""
    base = 40 if day.weekday() >= 5 else 20
    return base + (day.toordinal() * 7919) % 5 - 2


async def insert_days(db, tenant_id: int, counts: dict[date, int], zone: ZoneInfo) -> None:
    """`n` approved conversions of 2.50 USD payout each, at local noon of each day."""
    rows = [
        (datetime.combine(day, time(12), tzinfo=zone), f"F-{tenant_id}-{day}-{i}")
        for day, n in counts.items()
        for i in range(n)
    ]
    await db.execute(
        """
INSERT INTO conversion (receipt_id, tenant_id, conversion_id, offer_id, offer_name,
    datetime_conversion, usd_sale_amount, usd_payout, conversion_currency, status, raw,
    received_at, deduplicated, is_duplicate)
SELECT gen_random_uuid(), $1, c, 'O-1', 'Offer', d, 50, 2.5, 'USD', 'approved', '{}', d, true,
    false
FROM unnest($2::timestamptz[], $3::text[]) AS u(d, c)""",
        tenant_id,
        [r[0] for r in rows],
        [r[1] for r in rows],
    )


@pytest.fixture(autouse=True)
def fresh_forecasts():
    service.forget()
    yield
    service.forget()


class TestApi:
    async def test_the_next_week_follows_the_weekly_rhythm(self, app, db, client, admin_headers):
        shop = await create_tenant(app, "shopee-id", name="Shopee ID", timezone="Asia/Jakarta")
        today = datetime.now(JAKARTA).date()
        history = {
            today - timedelta(days=d): weekly(today - timedelta(days=d)) for d in range(1, 57)
        }
        await insert_days(db, shop.tenant.id, history, JAKARTA)
        answer = await client.get(
            "/api/forecast", params={"tenant": "shopee-id"}, headers=admin_headers
        )
        assert answer.status_code == 200, answer.text
        (item,) = answer.json()["items"]
        assert (item["tenant"], item["timezone"], item["history_days"]) == (
            "shopee-id",
            "Asia/Jakarta",
            56,
        )
        assert item["model"] == "ETS(A,N,A) weekly"
        assert item["level"] == 0.8
        days = item["days"]
        assert [d["day"] for d in days] == [str(today + timedelta(days=i)) for i in range(7)]
        for d in days:
            day = date.fromisoformat(d["day"])
            usual = 40 if day.weekday() >= 5 else 20
            assert abs(d["conversions"] - usual) <= 4, d
            assert d["conversions_lower"] <= d["conversions"] <= d["conversions_upper"]
            assert d["conversions_upper"] - d["conversions_lower"] < 20
            assert abs(d["payouts_usd"] - 2.5 * usual) <= 10, d
            assert d["payouts_usd_lower"] <= d["payouts_usd"] <= d["payouts_usd_upper"]

    async def test_a_partners_key_sees_its_own_forecast_only(self, app, db, client):
        shop = await create_tenant(app, "shopee-id", timezone="Asia/Jakarta")
        other = await create_tenant(app, "lazada-id", timezone="Asia/Jakarta")
        today = datetime.now(JAKARTA).date()
        days = {today - timedelta(days=d): 10 for d in range(1, 30)}
        await insert_days(db, shop.tenant.id, days, JAKARTA)
        await insert_days(db, other.tenant.id, days, JAKARTA)
        key = {"Authorization": f"Bearer {shop.secrets['api_key']}"}
        own = await client.get("/api/forecast", headers=key)
        assert [i["tenant"] for i in own.json()["items"]] == ["shopee-id"]
        asked = await client.get("/api/forecast", params={"tenant": "lazada-id"}, headers=key)
        assert asked.json()["items"] == []

    async def test_too_little_history_gives_no_forecast(self, app, db, client, admin_headers):
        new = await create_tenant(app, "newcomer", timezone="Asia/Jakarta")
        today = datetime.now(JAKARTA).date()
        await insert_days(
            db, new.tenant.id, {today - timedelta(days=d): 15 for d in range(1, 11)}, JAKARTA
        )
        answer = await client.get(
            "/api/forecast", params={"tenant": "newcomer", "days": 3}, headers=admin_headers
        )
        (item,) = answer.json()["items"]
        assert (item["model"], item["days"], item["history_days"]) == (None, [], 10)
        assert "21" in item["note"]

    async def test_without_a_key_it_is_refused(self, client):
        assert (await client.get("/api/forecast")).status_code == 401


class TestModel:
    def test_a_noisy_weekly_series_is_forecast_within_its_noise(self):
        rng = random.Random(3)
        values = [100 + 40 * (d % 7 >= 5) + rng.gauss(0, 5) for d in range(56)]
        predicted = model.predict(values, 7)
        truth = [100 + 40 * ((56 + i) % 7 >= 5) for i in range(7)]
        error = model.mape(truth, predicted.mean)
        assert error is not None
        assert error < 0.08
        assert all(
            lo <= m <= hi
            for lo, m, hi in zip(predicted.lower, predicted.mean, predicted.upper, strict=True)
        )
        covered = sum(
            lo <= t <= hi for lo, t, hi in zip(predicted.lower, truth, predicted.upper, strict=True)
        )
        assert covered >= 5

    def test_constant_and_short_series(self):
        assert model.predict([0.0] * 30, 3).mean == [0.0, 0.0, 0.0]
        with pytest.raises(model.TooLittleHistory):
            model.predict([1.0] * 20)

    def test_never_below_zero(self):
        values = [max(0.0, 5 * math.sin(d)) for d in range(28)]
        predicted = model.predict(values, 7)
        assert min(predicted.lower) >= 0
        assert min(predicted.mean) >= 0

    def test_mape(self):
        assert model.mape([100, 200, 0], [110, 180, 5]) == pytest.approx(0.1)
        assert model.mape([0, 0], [1, 2]) is None
