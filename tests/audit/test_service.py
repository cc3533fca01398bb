"""The audit service: a change on a session nobody acts on fails (and so does not happen),
and what an entry keeps of secrets and URLs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from postback.audit import service
from postback.tenants import service as tenants
from tests.audit.helpers import entries


async def test_a_change_without_an_actor_does_not_happen(app, db):
    async with AsyncSession(app.state.db.engine) as session:
        with pytest.raises(service.NoActor):
            await tenants.create_tenant(session, name="Ghost", slug="ghost")
        await session.rollback()
    assert await db.fetchval("SELECT count(*) FROM tenant WHERE slug = 'ghost'") == 0
    assert await entries(db) == []


class TestMasking:
    def test_secret_names(self):
        kept = service.masked(
            {
                "api_key": "pk_live_1",
                "ts_param": "tp-2",
                "signing_secret": "whsec_3",
                "x_auth": "4",
                "password": "5",
                "name": "Acme",
                "ts_token": None,
                "signing": True,
            }
        )
        assert kept == {
            "api_key": "***",
            "ts_param": "***",
            "signing_secret": "***",
            "x_auth": "***",
            "password": "***",
            "name": "Acme",
            "ts_token": None,
            "signing": True,
        }

    def test_nested_values_and_urls(self):
        kept = service.masked(
            {
                "corrected": {"ts_token": "tok-1", "usd_payout": Decimal("1.50")},
                "urls": ["https://u:pw-9@t.example/p?sig=abc&c={conversion_id}"],
            }
        )
        assert kept == {
            "corrected": {"ts_token": "***", "usd_payout": "1.50"},
            "urls": ["https://u:***@t.example/p?sig=***&c={conversion_id}"],
        }

    def test_changed_keeps_only_differences(self):
        before = {"a": 1, "b": 2, "c": None}
        after = {"a": 1, "b": 3, "c": None}
        assert service.changed(before, after) == ({"b": 2}, {"b": 3})
