"""Where the `limits` counters live (postback rate limits, the sign-in throttle): in Redis,
shared by every instance, when `REDIS_URL` is set; otherwise in this process's memory."""

from __future__ import annotations

from dataclasses import dataclass

from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from redis.asyncio import ConnectionPool

# Redis answers in well under a millisecond; when it does not, fail fast: callers let the
# request through rather than make it wait on a counter.
REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class CounterStore:
    storage: Storage
    pool: ConnectionPool | None  # the Redis connections, None in memory

    @property
    def shared(self) -> bool:
        return self.pool is not None

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()


def counter_store(redis_url: str | None, *, key_prefix: str) -> CounterStore:
    """Counters under `key_prefix` in Redis at `redis_url`, or in memory when it is None."""
    if not redis_url:
        return CounterStore(MemoryStorage(), None)
    pool = ConnectionPool.from_url(
        redis_url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )
    storage = RedisStorage(
        "async+" + redis_url.removeprefix("async+"),
        implementation="redispy",
        key_prefix=key_prefix,
        connection_pool=pool,  # type: ignore[arg-type]
    )
    return CounterStore(storage, pool)
