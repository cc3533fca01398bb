"""Per-partner postback rate limits: in-process, or shared by every instance through Redis."""

from __future__ import annotations

import math
import time

import structlog
from limits import RateLimitItemPerMinute
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from postback.counters import counter_store
from postback.tenants.directory import TenantInfo

log = structlog.get_logger(__name__)


class TenantRateLimiter:
    """Counts each partner's postbacks in a sliding one-minute window."""

    def __init__(self, redis_url: str | None) -> None:
        self._counters = counter_store(redis_url, key_prefix="postback")
        self.shared = self._counters.shared
        self._limiter = SlidingWindowCounterRateLimiter(self._counters.storage)
        self._items: dict[int, RateLimitItemPerMinute] = {}

    def _item(self, per_minute: int) -> RateLimitItemPerMinute:
        item = self._items.get(per_minute)
        if item is None:
            item = self._items[per_minute] = RateLimitItemPerMinute(per_minute)
        return item

    async def retry_after(self, tenant: TenantInfo) -> int | None:
        """None when the postback may pass, else the seconds to wait before retrying."""
        if tenant.rate_limit_per_minute is None:
            return None
        item = self._item(tenant.rate_limit_per_minute)
        key = str(tenant.id)
        try:
            if await self._limiter.hit(item, key):
                return None
            stats = await self._limiter.get_window_stats(item, key)
        except Exception as exc:
            # A limit that cannot be checked must not cost a conversion: let it through.
            log.warning("rate_limit_unavailable", error=str(exc))
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def reset(self) -> None:
        await self._counters.storage.reset()

    async def close(self) -> None:
        await self._counters.close()
