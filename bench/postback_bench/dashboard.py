"""`postback-bench dashboard`: 10 million conversions over 30 days, then every dashboard data
request timed many times (each range, as the admin and as a partner).

The rows are bulk loaded inside the database (one INSERT … SELECT over generate_series per
chunk of rows, not HTTP): every chunk is one statement, so the real statement-level triggers
build the rollup deltas exactly as for any write, and the real compaction folds them. The
loaded data set is kept (its partners are `dash-bench-*`) and reused by the next run with the
same --rows unless --fresh is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from postback import migrate
from postback.db import asyncpg_url
from postback.embedded import EmbeddedPostgres
from postback.settings import Settings
from postback_bench.database import compact

PARTNERS = 8
OFFERS = 25
OFFERS_PER_PARTNER = 5
DAYS = 30
CHUNK = 500_000
ENDPOINTS = ("kpis", "series", "status", "currencies", "offers", "partners")
RANGES = ("today", "yesterday", "7d", "30d")
CURRENCIES = ("MYR", "IDR", "THB", "PHP", "SGD", "VND", "USD")

# One chunk of conversions: partner, offer (with its fixed currency), status and time drawn
# from the row number; about 5% duplicates of an earlier row's conversion_id (and order_id).
# The identifiers searched by (postback-bench search): an order_id and a click id (adv_sub)
# per conversion, and one of 100,000 sub-ids (aff_sub, about 100 rows each).
LOAD_CHUNK = """
INSERT INTO conversion (receipt_id, tenant_id, conversion_id, offer_id, offer_name,
    datetime_conversion, sale_amount_local, myr_sale_amount, usd_sale_amount, payout_local,
    myr_payout, usd_payout, conversion_currency, status, status_raw, raw, received_at,
    deduplicated, is_duplicate, order_id, aff_sub, adv_sub)
SELECT lpad(to_hex(g), 32, '0')::uuid,
       p.id,
       'D' || r.base,
       o.offer_id, o.offer_name,
       at, amount, amount * 4.4, amount, amount / 20, amount * 0.22, amount / 20,
       o.currency, s.status, s.status, '{}'::jsonb, at + interval '5 minutes',
       true, dup,
       '2612' || lpad(r.base::text, 10, '0'),
       'aff-' || (abs(r.h2) % 100000),
       'click-' || to_hex(hashint8(r.base * 13 + 5))
FROM generate_series($1::bigint, $2::bigint) AS g
CROSS JOIN LATERAL (
    SELECT hashint8(g) AS h, hashint8(g * 7 + 3) AS h2, (g % 20 = 7) AS dup,
           CASE WHEN g % 20 = 7 THEN g - 1000 ELSE g END AS base
) AS r
CROSS JOIN LATERAL (
    SELECT $3::timestamptz - ((abs(r.h) % ($4::bigint * 86400)) || ' seconds')::interval AS at,
           round((abs(r.h2) % 50000)::numeric / 100 + 1, 2) AS amount
) AS a
JOIN LATERAL (
    SELECT id FROM tenant WHERE slug = 'dash-bench-' || (1 + (abs(r.h) / 7) % $5)
) AS p ON true
CROSS JOIN LATERAL (
    SELECT ((1 + (abs(r.h) / 7) % $5) * 3 + (abs(r.h2) / 11) % $6) % $7 AS n
) AS pick
CROSS JOIN LATERAL (
    SELECT (1000 + pick.n)::text AS offer_id, 'Offer ' || (1000 + pick.n) AS offer_name,
           ($8::text[])[1 + pick.n % cardinality($8::text[])] AS currency
) AS o
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN abs(r.h2) % 100 < 45 THEN 'pending'
        WHEN abs(r.h2) % 100 < 80 THEN 'approved'
        WHEN abs(r.h2) % 100 < 90 THEN 'rejected'
        WHEN abs(r.h2) % 100 < 98 THEN 'paid'
        ELSE 'other' END AS status
) AS s
"""


@dataclass(frozen=True, slots=True)
class Timing:
    endpoint: str
    range: str
    who: str
    samples: list[float]

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return self.quantile(0.95)


@dataclass(frozen=True, slots=True)
class BenchResult:
    rows: int
    loaded_now: bool
    load_seconds: float
    compact_seconds: float
    rollup_cells: int
    timings: list[Timing]
    started: datetime
    command: str


@contextlib.contextmanager
def database(url: str | None, home: Path) -> Iterator[str]:
    if url:
        yield asyncpg_url(url)
        return
    embedded = EmbeddedPostgres(home)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


async def ensure_partners(conn: asyncpg.Connection) -> dict[str, str]:
    """The benchmark's partners (created once), and the API key of the first, fresh."""
    from postback.security import hash_secret, new_secret

    for i in range(1, PARTNERS + 1):
        await conn.execute(
            "INSERT INTO tenant (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING",
            f"dash-bench-{i}",
            f"Dashboard benchmark partner {i}",
        )
    key = new_secret("pk")
    await conn.execute(
        "UPDATE tenant SET api_key_hash = $1 WHERE slug = 'dash-bench-1'", hash_secret(key)
    )
    return {"partner_key": key}


async def load(conn: asyncpg.Connection, rows: int, say: Callable[[str], None]) -> float:
    started = time.perf_counter()
    now = datetime.now(UTC)
    for first in range(1, rows + 1, CHUNK):
        last = min(rows, first + CHUNK - 1)
        await conn.execute(
            LOAD_CHUNK,
            first,
            last,
            now,
            DAYS,
            PARTNERS,
            OFFERS_PER_PARTNER,
            OFFERS,
            list(CURRENCIES),
        )
        say(f"  loaded {last:,} rows ({time.perf_counter() - started:.0f} s)")
    return time.perf_counter() - started


async def prepare(
    url: str, rows: int, fresh: bool, own_server: bool, say: Callable[[str], None]
) -> tuple[bool, float, float, int, str]:
    await migrate.upgrade(url)
    conn = await asyncpg.connect(url)
    try:
        keys = await ensure_partners(conn)
        stored = await conn.fetchval(
            "SELECT count(*) FROM conversion c JOIN tenant t ON t.id = c.tenant_id"
            " WHERE t.slug LIKE 'dash-bench-%'"
        )
        load_seconds, loaded_now = 0.0, False
        if fresh or stored != rows:
            say(f"loading {rows:,} conversions over {DAYS} days (had {stored:,})")
            if own_server:
                await conn.execute("TRUNCATE conversion")
            else:  # someone else's database: only the benchmark's own rows go
                await conn.execute(
                    "DELETE FROM conversion WHERE tenant_id IN"
                    " (SELECT id FROM tenant WHERE slug LIKE 'dash-bench-%')"
                )
            await conn.execute("VACUUM (ANALYZE) conversion_hourly")
            load_seconds, loaded_now = await load(conn, rows, say), True
        else:
            say(f"reusing the {stored:,} conversions already loaded (--fresh to reload)")
        started = time.perf_counter()
        await compact(url, Settings().timezone)
        compact_seconds = time.perf_counter() - started
        await conn.execute(
            "VACUUM (ANALYZE) conversion_hourly, conversion_hourly_delta, conversion_daily"
        )
        if loaded_now:
            await conn.execute("VACUUM (ANALYZE) conversion")
        cells = await conn.fetchval("SELECT count(*) FROM conversion_hourly")
        return loaded_now, load_seconds, compact_seconds, cells, keys["partner_key"]
    finally:
        await conn.close()


async def time_requests(
    url: str, partner_key: str, repeat: int, home: Path, say: Callable[[str], None]
) -> list[Timing]:
    from postback.app import create_app
    from postback.settings import Settings

    settings = Settings(
        DATABASE_URL=url,
        POSTBACK_ADMIN_TOKEN="dash-bench-admin-token-0123456789",  # noqa: S106 (its own app)
        POSTBACK_HOME=str(home),
        LOG_LEVEL="WARNING",
        POSTBACK_CLEANUP_INTERVAL=0,
        POSTBACK_COMPACTION_INTERVAL=0,
    )
    app = create_app(settings)
    who_headers = {
        "admin": {"Authorization": "Bearer dash-bench-admin-token-0123456789"},
        "partner": {"Authorization": f"Bearer {partner_key}"},
    }
    timings = []
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for who, headers in who_headers.items():
                for name in RANGES:
                    for endpoint in ENDPOINTS:
                        if endpoint == "partners" and who == "partner":
                            continue
                        path = f"/dashboard/api/{endpoint}"
                        params = {"range": name}
                        warm = await client.get(path, params=params, headers=headers)
                        if warm.status_code != 200:
                            raise RuntimeError(f"{path} answered {warm.status_code}: {warm.text}")
                        samples = []
                        for _ in range(repeat):
                            started = time.perf_counter()
                            response = await client.get(path, params=params, headers=headers)
                            samples.append((time.perf_counter() - started) * 1000)
                            assert response.status_code == 200
                        timing = Timing(endpoint, name, who, samples)
                        say(
                            f"  {who:7} {name:9} {endpoint:10}"
                            f" p50 {timing.p50:6.1f} ms  p95 {timing.p95:6.1f} ms"
                            f"  max {max(samples):6.1f} ms"
                        )
                        timings.append(timing)
    return timings


def run(
    *,
    rows: int,
    repeat: int,
    database_url: str | None,
    fresh: bool,
    home: Path,
    command: str,
    say: Callable[[str], None],
) -> BenchResult:
    started = datetime.now(UTC)
    with database(database_url, home / "bench-dashboard") as url:

        async def go() -> BenchResult:
            loaded_now, load_s, compact_s, cells, key = await prepare(
                url, rows, fresh, database_url is None, say
            )
            say(f"rollup cells: {cells:,}; timing {repeat} requests each")
            timings = await time_requests(url, key, repeat, home / "bench-dashboard-app", say)
            return BenchResult(
                rows, loaded_now, load_s, compact_s, cells, timings, started, command
            )

        return asyncio.run(go())


def markdown(result: BenchResult) -> str:
    worst = max(t.p95 for t in result.timings)
    lines = [
        "# Dashboard benchmark",
        "",
        f"Run {result.started:%Y-%m-%d %H:%M} UTC with `{result.command}`.",
        "",
        f"- {result.rows:,} conversions over {DAYS} days, {PARTNERS} partners, "
        f"{OFFERS} offers ({OFFERS_PER_PARTNER} per partner, one currency each), 5 statuses, "
        "about 5% duplicates.",
        "- Loaded inside the database by INSERT … SELECT over generate_series in chunks of "
        f"{CHUNK:,} rows: each chunk is one statement, so the real triggers wrote the deltas; "
        "the real compaction folded them."
        + (
            f" Load took {result.load_seconds:.0f} s."
            if result.loaded_now
            else " (Data set kept from an earlier run.)"
        ),
        f"- Compaction of the pending deltas (and the day cells of the reporting timezone):"
        f" {result.compact_seconds:.1f} s; hourly rollup cells: "
        f"{result.rollup_cells:,}.",
        "- Each request through the ASGI app in-process (httpx, no network), after one warm-up,"
        " timed one after another; milliseconds.",
        "",
        f"Target: p95 < 150 ms for every request. Worst p95: {worst:.1f} ms "
        f"({'met' if worst < 150 else 'NOT met'}).",
        "",
        "| who | range | request | p50 | p95 | max |",
        "|---|---|---|---:|---:|---:|",
    ]
    for t in result.timings:
        lines.append(
            f"| {t.who} | {t.range} | {t.endpoint} | {t.p50:.1f} | {t.p95:.1f} "
            f"| {max(t.samples):.1f} |"
        )
    return "\n".join(lines) + "\n"
