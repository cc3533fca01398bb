"""In-memory map from postback tokens to tenants, for resolving tenants on the hot path.

Every instance keeps its own copy, reloaded every few seconds and at once when a token is
not found (throttled), so a partner created on another instance is picked up quickly.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from postback.ingest.fields import Parsing
from postback.security import token_digest
from postback.tenants import repository

TOKEN_ORDER = ("ts_token", "ts_param", "tlm_token")
MISS_RELOAD_INTERVAL = 1.0

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TenantInfo:
    id: int
    slug: str
    zone: ZoneInfo
    dedup: bool
    enabled: bool
    rate_limit_per_minute: int | None
    is_default: bool
    # The partner's parsing options; None (nearly every partner) types values the usual way.
    parsing: Parsing | None = None


def tenant_info(row: asyncpg.Record, default_zone: ZoneInfo) -> TenantInfo:
    """A partner as the write path sees it, from its `repository.directory_rows` row."""
    return TenantInfo(
        id=row["id"],
        slug=row["slug"],
        zone=ZoneInfo(row["timezone"]) if row["timezone"] else default_zone,
        dedup=row["dedup_enabled"],
        enabled=row["enabled"],
        rate_limit_per_minute=row["rate_limit_per_minute"],
        is_default=row["is_default"],
        parsing=Parsing.of(row["day_first_dates"], row["decimal_comma"]),
    )


class UnknownToken(Exception):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} matches no partner")
        self.field = field


class NoDefaultTenant(Exception):
    pass


class TenantDirectory:
    def __init__(
        self,
        pool: asyncpg.Pool,
        default_zone: ZoneInfo,
        ttl: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._default_zone = default_zone
        self._ttl = ttl
        self._by_token: dict[str, dict[str, TenantInfo]] = {f: {} for f in TOKEN_ORDER}
        self._by_id: dict[int, TenantInfo] = {}
        self._default: TenantInfo | None = None
        self._loaded_at = -math.inf
        self._lock = asyncio.Lock()
        # Reloads are numbered as they start. One that read the table before a later one
        # finished is dropped; one that started before an invalidate() is kept (nothing
        # newer is known) but not trusted as fresh, so the next lookup reloads.
        self._started = 0
        self._applied = 0
        self._fresh_from = 1

    async def reload(self) -> None:
        self._started += 1
        ticket = self._started
        rows = await repository.directory_rows(self._pool)
        if ticket < self._applied:
            return
        by_token: dict[str, dict[str, TenantInfo]] = {f: {} for f in TOKEN_ORDER}
        by_id: dict[int, TenantInfo] = {}
        default = None
        for row in rows:
            info = tenant_info(row, self._default_zone)
            by_id[info.id] = info
            if info.is_default:
                default = info
            for field in TOKEN_ORDER:
                digest = row[f"{field}_hash"]
                if digest:
                    by_token[field][digest] = info
        self._by_token, self._by_id, self._default = by_token, by_id, default
        self._applied = ticket
        self._loaded_at = self._clock() if ticket >= self._fresh_from else -math.inf

    def invalidate(self) -> None:
        # Not 0: the monotonic clock counts from boot, so within an hour of boot a zero would
        # still look fresh to the hour-long default cache.
        self._loaded_at = -math.inf
        self._fresh_from = self._started + 1

    async def _ensure_fresh(self, max_age: float) -> None:
        if self._clock() - self._loaded_at <= max_age:
            return
        async with self._lock:
            if self._clock() - self._loaded_at > max_age:
                try:
                    await self.reload()
                except (
                    OSError,
                    TimeoutError,
                    asyncpg.PostgresConnectionError,
                    asyncpg.InterfaceError,
                ):
                    if self._default is None and not self._by_id:
                        raise
                    # The database is away: postbacks go on to the spool with the tenants
                    # known so far; the next reload is tried after another max_age.
                    log.warning("tenant_directory_stale")
                    self._loaded_at = self._clock()

    async def known(self, tokens: dict[str, str]) -> TenantInfo | None:
        """The partner these tokens name, if any (no default): for recording a refusal."""
        await self._ensure_fresh(self._ttl)
        return self._lookup(tokens)

    async def find(self, tenant_id: int) -> TenantInfo | None:
        """A partner by id, reloading once (throttled) if this instance does not know it yet."""
        await self._ensure_fresh(self._ttl)
        info = self._by_id.get(tenant_id)
        if info is None:
            await self._ensure_fresh(MISS_RELOAD_INTERVAL)
            info = self._by_id.get(tenant_id)
        return info

    def _lookup(self, tokens: dict[str, str]) -> TenantInfo | None:
        for field in TOKEN_ORDER:
            value = tokens.get(field)
            if value:
                info = self._by_token[field].get(token_digest(value))
                if info is not None:
                    return info
        return None

    async def resolve(self, tokens: dict[str, str], *, strict: bool) -> TenantInfo:
        """The tenant named by the first known token, else the default tenant."""
        await self._ensure_fresh(self._ttl)
        info = self._lookup(tokens)
        if info is None and tokens:
            await self._ensure_fresh(MISS_RELOAD_INTERVAL)
            info = self._lookup(tokens)
            if info is None and strict:
                raise UnknownToken(next(f for f in TOKEN_ORDER if tokens.get(f)))
        if info is None:
            info = self._default
        if info is None:
            raise NoDefaultTenant("no default tenant: run `postback migrate`")
        return info

    def get(self, tenant_id: int) -> TenantInfo | None:
        return self._by_id.get(tenant_id)
