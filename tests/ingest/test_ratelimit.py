"""Per-partner rate limits: 429 with Retry-After, the refused postback kept; shared via Redis."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import orjson

from postback.ingest.ratelimit import TenantRateLimiter
from postback.tenants.directory import TenantInfo
from tests.factories import create_tenant, postback


async def test_over_the_limit_gets_429_and_is_kept(client, db):
    await create_tenant(
        client._transport.app, "limited", ts_token="tok-lim", rate_limit_per_minute=3
    )
    codes = []
    for i in range(5):
        response = await client.get("/postback/", params=postback(f"L-{i}", ts_token="tok-lim"))
        codes.append(response.status_code)
    assert codes == [200, 200, 200, 429, 429]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.json()["errors"][0]["field"] == "rate_limit"
    rejections = await db.fetch("SELECT reason, conversion_id, payload FROM rejection ORDER BY id")
    assert [(r["reason"], r["conversion_id"]) for r in rejections] == [
        ("rate_limited", "L-3"),
        ("rate_limited", "L-4"),
    ]
    assert orjson.loads(rejections[0]["payload"])["offer_name"] == "Shopee MY"
    assert await db.fetchval("SELECT count(*) FROM conversion") == 3


async def test_limits_are_per_partner(client, db):
    app = client._transport.app
    await create_tenant(app, "small", ts_token="tok-small", rate_limit_per_minute=1)
    await create_tenant(app, "free", ts_token="tok-free")
    small = [
        await client.get("/postback/", params=postback(f"S-{i}", ts_token="tok-small"))
        for i in range(2)
    ]
    free = [
        await client.get("/postback/", params=postback(f"F-{i}", ts_token="tok-free"))
        for i in range(20)
    ]
    default = await client.get("/postback/", params=postback("D-1"))
    assert [r.status_code for r in small] == [200, 429]
    assert all(r.status_code == 200 for r in free)
    assert default.status_code == 200


def tenant(per_minute: int) -> TenantInfo:
    return TenantInfo(
        id=int(uuid.uuid4().int % 1_000_000_000),
        slug="shared",
        zone=ZoneInfo("UTC"),
        dedup=True,
        enabled=True,
        rate_limit_per_minute=per_minute,
        is_default=False,
    )


async def test_instances_share_one_budget_through_redis(redis_url):
    """Two limiters on one Redis behave like two app instances of one deployment."""
    first, second = TenantRateLimiter(redis_url), TenantRateLimiter(redis_url)
    try:
        assert first.shared
        partner = tenant(4)
        outcomes = []
        for limiter in (first, second, first, second, first, second):
            outcomes.append(await limiter.retry_after(partner))
        assert outcomes[:4] == [None, None, None, None]
        assert all(isinstance(o, int) and o >= 1 for o in outcomes[4:])
        # A partner's budget is its own even on the same Redis.
        assert await second.retry_after(tenant(4)) is None
    finally:
        await first.close()
        await second.close()


async def test_in_process_limiters_do_not_share(redis_url):
    first, second = TenantRateLimiter(None), TenantRateLimiter(None)
    partner = tenant(1)
    assert await first.retry_after(partner) is None
    assert await second.retry_after(partner) is None
    assert await first.retry_after(partner) is not None


async def test_unreachable_redis_lets_postbacks_through():
    limiter = TenantRateLimiter("redis://127.0.0.1:1/0")
    try:
        assert await limiter.retry_after(tenant(1)) is None
    finally:
        await limiter.close()
