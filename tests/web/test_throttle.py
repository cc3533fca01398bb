"""The failed sign-in throttle: shared by every instance through Redis, per process without
it, and one count for the three sign-in forms."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from postback.app import PostbackApp
from postback.web.throttle import MAX_FAILURES, WINDOW_SECONDS, SignInThrottle
from tests.admin.conftest import sign_in as admin_sign_in

ADDRESS = "192.0.2.10"


@pytest.fixture
async def two_instances(redis_url: str) -> AsyncIterator[tuple[SignInThrottle, SignInThrottle]]:
    """Two instances' throttles on the same Redis, under a prefix of this test's own."""
    prefix = f"postback-test-{uuid.uuid4().hex}"
    first = SignInThrottle(redis_url, key_prefix=prefix)
    second = SignInThrottle(redis_url, key_prefix=prefix)
    try:
        yield first, second
    finally:
        await first.reset()
        await first.close()
        await second.close()


async def test_instances_sharing_redis_see_each_others_failures(two_instances):
    first, second = two_instances
    assert first.shared
    assert second.shared
    for _ in range(MAX_FAILURES - 1):
        await first.failed(ADDRESS)
    assert await second.retry_after(ADDRESS) == 0
    await second.failed(ADDRESS)  # the last guess allowed, made at the other instance
    assert 0 < await first.retry_after(ADDRESS) <= WINDOW_SECONDS
    assert 0 < await second.retry_after(ADDRESS) <= WINDOW_SECONDS
    assert await first.retry_after("192.0.2.11") == 0  # another address is not affected
    # A success at either instance clears the address everywhere.
    await first.succeeded(ADDRESS)
    assert await second.retry_after(ADDRESS) == 0


async def test_without_redis_each_process_counts_alone():
    first, second = SignInThrottle(), SignInThrottle()
    assert not first.shared
    for _ in range(MAX_FAILURES):
        await first.failed(ADDRESS)
    assert await first.retry_after(ADDRESS) > 0
    assert await second.retry_after(ADDRESS) == 0


async def test_an_unreachable_redis_lets_sign_ins_through():
    """The counter being away must not lock everyone out (nothing listens on port 1)."""
    throttle = SignInThrottle("redis://127.0.0.1:1/0", key_prefix=f"postback-test-{uuid.uuid4()}")
    try:
        for _ in range(MAX_FAILURES + 1):
            await throttle.failed(ADDRESS)
        assert await throttle.retry_after(ADDRESS) == 0
        await throttle.succeeded(ADDRESS)
    finally:
        await throttle.close()


@pytest.fixture
async def fresh_throttle(app: PostbackApp) -> AsyncIterator[None]:
    await app.state.sign_in_throttle.reset()
    yield
    await app.state.sign_in_throttle.reset()


async def test_one_count_for_every_sign_in_form(client: httpx.AsyncClient, fresh_throttle):
    """Guesses at /ask and /dashboard count against the same address at /admin."""
    for _ in range(MAX_FAILURES - 1):
        page = await client.get("/ask")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = await client.post("/ask/login", data={"csrf_token": csrf, "token": "guess"})
        assert response.status_code == 401
    page = await client.get("/dashboard")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await client.post("/dashboard/login", data={"csrf_token": csrf, "api_key": "x"})
    assert response.status_code == 401
    assert (await admin_sign_in(client)).status_code == 429
