"""At most a few failed sign-ins per client address in a moving window, on `limits`.

One throttle for every sign-in form (/admin, /dashboard, /ask): a guess is a guess wherever
it is typed. With `REDIS_URL` every instance counts in the same Redis, so the limit holds
across instances; without it each process counts on its own (in memory). A successful
sign-in clears the address's failures. When Redis cannot be reached the throttle lets
sign-ins through uncounted (and logs it), as the postback rate limits do: an outage of the
counter must not lock the admin out, and a random admin token is far beyond guessing anyway.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import structlog
from fastapi import Depends, FastAPI, Request
from limits import RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from postback.counters import counter_store

log = structlog.get_logger(__name__)

MAX_FAILURES = 5
WINDOW_SECONDS = 300
KEY_PREFIX = "postback-sign-in"


class SignInThrottle:
    """Failed sign-ins per address: `retry_after` says how long an address must wait."""

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        max_failures: int = MAX_FAILURES,
        window_seconds: int = WINDOW_SECONDS,
        key_prefix: str = KEY_PREFIX,
    ) -> None:
        self._counters = counter_store(redis_url, key_prefix=key_prefix)
        self.shared = self._counters.shared
        self._limiter = MovingWindowRateLimiter(self._counters.storage)
        self._item = RateLimitItemPerSecond(max_failures, window_seconds)

    async def retry_after(self, address: str) -> int:
        """Seconds until this address may try again; 0 when it may now."""
        try:
            if await self._limiter.test(self._item, address):
                return 0
            stats = await self._limiter.get_window_stats(self._item, address)
        except RedisError as exc:
            log.warning("sign_in_throttle_unavailable", error=str(exc))
            return 0
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def failed(self, address: str) -> None:
        try:
            await self._limiter.hit(self._item, address)
        except RedisError as exc:
            log.warning("sign_in_throttle_unavailable", error=str(exc))

    async def succeeded(self, address: str) -> None:
        try:
            await self._limiter.clear(self._item, address)
        except RedisError as exc:
            log.warning("sign_in_throttle_unavailable", error=str(exc))

    async def reset(self) -> None:
        """Forget every address's failures (this throttle's keys only)."""
        await self._counters.storage.reset()

    async def close(self) -> None:
        await self._counters.close()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def throttle_of(request: Request) -> SignInThrottle:
    """The app's sign-in throttle (set up by `throttle_lifespan`)."""
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    return throttle


Throttle = Annotated[SignInThrottle, Depends(throttle_of)]


@asynccontextmanager
async def throttle_lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    """Opens the throttle on the app's `REDIS_URL` (or in memory) and closes it at the end."""
    settings = app.state.settings
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    throttle = app.state.sign_in_throttle = SignInThrottle(redis_url)
    try:
        yield {}
    finally:
        await throttle.close()
