"""Two instances on one database send each delivery once."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from asgi_lifespan import LifespanManager

from postback.app import create_app
from tests.factories import create_tenant, postback
from tests.fixtures import make_settings
from tests.forwarding.helpers import add_forward, eventually, settled

POSTBACKS = 150


@pytest.fixture
async def second(database_url, tmp_path, app, db):
    """Another instance of the service on the same database, its delivery worker running."""
    other = create_app(make_settings(database_url, tmp_path, POSTBACK_FORWARD_CONCURRENCY=4))
    async with LifespanManager(other, startup_timeout=60):
        yield other


async def test_each_delivery_sent_once(app, second, client, db, receiver):
    acme = await create_tenant(app, "acme", ts_token="tok-acme")
    await second.state.directory.reload()
    before = app.state.deliveries.attempted
    receiver.plans["/once"].delay = 0.02  # long enough for both workers to hold some
    await add_forward(client, acme.tenant.id, url=receiver.base + "/once?c={conversion_id}")
    transport = httpx.ASGITransport(app=second)
    async with httpx.AsyncClient(transport=transport, base_url="http://second") as other:
        for n in range(POSTBACKS):
            http = client if n % 2 else other
            response = await http.get("/postback/", params=postback(f"I-{n}", ts_token="tok-acme"))
            assert response.status_code == 200
    assert await settled(db, POSTBACKS) == {"delivered": POSTBACKS}
    await eventually(lambda: len(receiver.to("/once")) >= POSTBACKS)

    sent = Counter(r.headers["x-postback-delivery-id"] for r in receiver.to("/once"))
    assert len(sent) == POSTBACKS
    assert set(sent.values()) == {1}
    assert {r.query["c"] for r in receiver.to("/once")} == {f"I-{n}" for n in range(POSTBACKS)}
    assert await db.fetchval("SELECT count(*) FROM delivery_attempt") == POSTBACKS
    # Both instances took a share, so the test says something about sharing.
    first = app.state.deliveries.attempted - before
    other_count = second.state.deliveries.attempted
    assert first > 0
    assert other_count > 0
    assert first + other_count == POSTBACKS
