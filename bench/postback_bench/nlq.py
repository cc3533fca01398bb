"""`postback-bench nlq`: answer latency of natural-language questions on a million conversions.

Loads generated conversions with COPY (not through HTTP) into a database of its own (an
embedded PostgreSQL, or a fresh database on `--database-url`'s server, dropped afterwards),
then asks a fixed mix of Chinese and English questions many times through `answer()`, the
function behind `POST /api/nlq`, and reports p50/p95/max per question and overall.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from postback import migrate
from postback.auth import ADMIN, partner_principal
from postback.db import asyncpg_url
from postback.settings import Settings
from postback_bench.database import compact, create_database, drop_database

TARGET_P95_MS = 300.0
DAYS = 90
CENT = Decimal("0.01")
PARTNERS = (
    ("shopee-hub", "Shopee Hub 合作伙伴", 0.4),
    ("deal-hunters", "Deal Hunters", 0.3),
    ("kol-asia", "KOL Asia", 0.2),
    ("coupon-my", "Coupon MY", 0.1),
)
# offer id, name, currency, local units per MYR, typical sale in MYR, commission rate
OFFERS = (
    ("1001", "Shopee MY", "MYR", Decimal("1"), 120, Decimal("0.05")),
    ("1002", "Shopee SG", "SGD", Decimal("0.29"), 160, Decimal("0.04")),
    ("1003", "Lazada MY", "MYR", Decimal("1"), 140, Decimal("0.06")),
    ("1004", "Lazada SG", "SGD", Decimal("0.29"), 180, Decimal("0.05")),
    ("1005", "TikTok Shop MY", "MYR", Decimal("1"), 90, Decimal("0.08")),
    ("1006", "Shopee ID", "IDR", Decimal("3400"), 100, Decimal("0.04")),
    ("1007", "Lazada ID", "IDR", Decimal("3400"), 110, Decimal("0.05")),
    ("1008", "Zalora MY", "MYR", Decimal("1"), 220, Decimal("0.07")),
    ("1009", "Agoda", "USD", Decimal("0.2237"), 600, Decimal("0.03")),
    ("1010", "Klook", "SGD", Decimal("0.29"), 250, Decimal("0.04")),
)
USD_PER_MYR = Decimal("0.2237")
AFF_SUBS = ("campaign-a", "campaign-b", "fb-ads", "ig-story", "tiktok-live")
ADV_SUBS = ("new-buyer", "returning")
DUPLICATE_SHARE = 0.03
# Busier in the evening (reporting time), like shoppers.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 7, 6, 6, 6, 7, 8, 9, 10, 10, 8, 4]

# The fixed mix: totals, breakdowns, top N, comparisons, series by day and by hour.
QUESTIONS: tuple[str, ...] = (
    "昨天每个offer的佣金是多少？",
    "top 5 offers by sales last week",
    "how many conversions yesterday",
    "今天的订单数",
    "最近30天每天的转化数",
    "conversions by hour today",
    "sales by day in the last 7 days",
    "本月各商家的销售额",
    "approval rate by offer this month",
    "上周各状态的转化数",
    "payout in MYR by partner last month",
    "本周和上周的销售额对比",
    "sales this week vs last week",
    "最近7天每个渠道的佣金",
    "average order value by offer last 30 days",
    "rejected conversions by offer this month",
    "今年的总销售额",
    "bottom 3 offers by conversions last month",
    "销售额最高的3个商家 最近30天",
    "conversions by currency last 30 days",
    "duplicates by partner last 7 days",
    "sales of shopee my by week in the last 90 days",
    "最近24小时每小时的订单数",
    "payout by month this year",
)
# Asked as one partner instead of the admin (partner scoping on the big table).
AS_PARTNER = frozenset({"最近7天每个渠道的佣金", "sales by day in the last 7 days", "今天的订单数"})

COPY_COLUMNS = (
    "receipt_id",
    "tenant_id",
    "conversion_id",
    "offer_id",
    "offer_name",
    "datetime_conversion",
    "order_id",
    "sale_amount_local",
    "myr_sale_amount",
    "usd_sale_amount",
    "payout_local",
    "myr_payout",
    "usd_payout",
    "conversion_currency",
    "status",
    "status_raw",
    "aff_sub",
    "adv_sub",
    "raw",
    "received_at",
    "deduplicated",
    "is_duplicate",
)


@dataclass(frozen=True)
class Options:
    rows: int = 1_000_000
    rounds: int = 20
    database_url: str | None = None
    keep: bool = False
    seed: int = 20261125


@dataclass
class QuestionResult:
    question: str
    as_partner: bool
    rows: int
    timings_ms: list[float] = field(default_factory=list)
    error: str | None = None
    from_days: bool = False  # answered from day cells

    @property
    def p50(self) -> float:
        return percentile(self.timings_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.timings_ms, 95)

    @property
    def max(self) -> float:
        return max(self.timings_ms) if self.timings_ms else float("nan")


@dataclass
class BenchResult:
    options: Options
    machine: dict[str, str]
    loaded_rows: int
    load_seconds: float
    table_mb: float
    questions: list[QuestionResult]

    @property
    def all_timings(self) -> list[float]:
        return [t for q in self.questions for t in q.timings_ms]

    @property
    def ok(self) -> bool:
        return all(q.error is None for q in self.questions)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


# --------------------------------------------------------------------------- the data


def conversion_times(
    count: int, *, now: datetime, zone: ZoneInfo, rng: random.Random
) -> list[datetime]:
    """`count` moments over the `DAYS` days before `now`, busier in the evening, in time
    order (as postbacks arrive, so the table is laid out by time as a real one is)."""
    local_now = now.astimezone(zone)
    start_day = (local_now - timedelta(days=DAYS)).date()
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    seconds_today = max(int((local_now - midnight).total_seconds()), 1)
    times = []
    for _ in range(count):
        day = start_day + timedelta(days=rng.randint(0, DAYS))
        hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
        moment = datetime(
            day.year,
            day.month,
            day.day,
            hour,
            rng.randint(0, 59),
            rng.randint(0, 59),
            tzinfo=zone,
        )
        if moment > local_now:
            moment = midnight + timedelta(seconds=rng.randrange(seconds_today))
        times.append(moment)
    times.sort()
    return times


def generate_rows(
    count: int, tenant_ids: Sequence[int], *, now: datetime, zone: ZoneInfo, seed: int
) -> Iterator[tuple[object, ...]]:
    """`count` conversion rows in COPY_COLUMNS order and in time order; about
    DUPLICATE_SHARE of them repeat a recent conversion (a later postback for it)."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    weights = [share for _, _, share in PARTNERS][: len(tenant_ids)]
    recent: list[tuple[int, str, datetime, tuple[object, ...]]] = []
    statuses = ("approved", "pending", "rejected")
    for n, moment in enumerate(conversion_times(count, now=now, zone=zone, rng=rng)):
        if recent and rng.random() < DUPLICATE_SHARE:
            tenant_id, conversion_id, occurred, money = rng.choice(recent)
            status = rng.choices(statuses, (6, 3, 1))[0]
            received = min(max(moment, occurred) + timedelta(seconds=rng.randint(1, 600)), now)
            yield _row(tenant_id, conversion_id, money, occurred, status, rng, received, True)
            continue
        tenant_id = rng.choices(tenant_ids, weights)[0]
        offer_id, offer_name, currency, per_myr, typical, rate = rng.choice(OFFERS)
        myr = (Decimal(rng.lognormvariate(0, 0.6)) * typical).quantize(CENT)
        payout_myr = (myr * rate).quantize(CENT)
        money = (
            offer_id,
            offer_name,
            f"ORD-{n}",
            (myr * per_myr).quantize(CENT),
            myr,
            (myr * USD_PER_MYR).quantize(CENT),
            (payout_myr * per_myr).quantize(CENT),
            payout_myr,
            (payout_myr * USD_PER_MYR).quantize(CENT),
            currency,
        )
        conversion_id = f"C{n:08d}"
        status = rng.choices(statuses, (5, 4, 1))[0]
        received = min(moment + timedelta(seconds=rng.randint(1, 120)), now)
        # Later postbacks come for conversions of the last few hundred.
        if len(recent) < 500:
            recent.append((tenant_id, conversion_id, moment, money))
        else:
            recent[rng.randrange(500)] = (tenant_id, conversion_id, moment, money)
        yield _row(tenant_id, conversion_id, money, moment, status, rng, received, False)


def _row(
    tenant_id: int,
    conversion_id: str,
    money: tuple[object, ...],
    occurred: datetime,
    status: str,
    rng: random.Random,
    received: datetime,
    duplicate: bool,
) -> tuple[object, ...]:
    """One row in COPY_COLUMNS order; `money` is offer id and name, order id, the six
    amounts and the currency."""
    return (
        uuid.uuid4(),
        tenant_id,
        conversion_id,
        *money[:2],
        occurred,
        *money[2:],
        status,
        status,
        rng.choice(AFF_SUBS),
        rng.choice(ADV_SUBS),
        "{}",
        received,
        True,
        duplicate,
    )


async def create_partners(conn: asyncpg.Connection) -> list[int]:
    ids = []
    for slug, name, _ in PARTNERS:
        ids.append(
            await conn.fetchval(
                "INSERT INTO tenant (slug, name) VALUES ($1, $2) "
                "ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id",
                slug,
                name,
            )
        )
    return ids


async def load(
    conn: asyncpg.Connection,
    rows: int,
    *,
    now: datetime,
    zone: ZoneInfo,
    seed: int,
    say: Callable[[str], None] = lambda _: None,
) -> list[int]:
    """Partners and `rows` conversions through COPY in batches; ANALYZE after."""
    tenant_ids = await create_partners(conn)
    generated = generate_rows(rows, tenant_ids, now=now, zone=zone, seed=seed)
    batch: list[tuple[object, ...]] = []
    done = 0
    for row in generated:
        batch.append(row)
        if len(batch) == 50_000:
            await conn.copy_records_to_table("conversion", records=batch, columns=COPY_COLUMNS)
            done += len(batch)
            batch.clear()
            say(f"  loaded {done:,} rows")
    if batch:
        await conn.copy_records_to_table("conversion", records=batch, columns=COPY_COLUMNS)
    # What autovacuum does on a live database: statistics and the visibility map.
    await conn.execute("VACUUM (ANALYZE) conversion")
    await conn.execute("ANALYZE tenant")
    return tenant_ids


# --------------------------------------------------------------------------- the run


@contextmanager
def bench_database(options: Options, say: Callable[[str], None]) -> Iterator[str]:
    """A database of the run's own: a new one on --database-url's server, else an embedded
    server in a temporary folder; removed afterwards unless --keep."""
    if options.database_url is None:
        from postback.embedded import EmbeddedPostgres

        home = Path(tempfile.mkdtemp(prefix="postback-bench-nlq-"))
        say(f"starting an embedded PostgreSQL in {home}")
        embedded = EmbeddedPostgres(home)
        try:
            yield asyncpg_url(embedded.start())
        finally:
            embedded.stop()
            if not options.keep:
                shutil.rmtree(home, ignore_errors=True)
        return
    server = asyncpg_url(options.database_url)
    name = f"postback_bench_nlq_{uuid.uuid4().hex[:8]}"
    url = asyncio.run(create_database(server, name))
    say(f"created database {name}")
    try:
        yield url
    finally:
        if not options.keep:
            asyncio.run(drop_database(server, name))


def machine() -> dict[str, str]:
    memory = ""
    try:
        import psutil

        memory = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:  # pragma: no cover - psutil is a dependency
        pass
    return {
        "cpu": f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores",
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


async def measure(url: str, options: Options, say: Callable[[str], None]) -> BenchResult:
    from postback.nlq import service
    from postback.nlq.plan import CannotAnswer

    settings = Settings(DATABASE_URL=url, LOG_LEVEL="WARNING", NLQ_LLM_BASE_URL=None)
    zone = settings.zone
    now = datetime.now(UTC)
    await migrate.upgrade(url)
    conn = await asyncpg.connect(url, server_settings={"timezone": "UTC"})
    try:
        started = time.perf_counter()
        say(f"loading {options.rows:,} conversions with COPY")
        tenant_ids = await load(conn, options.rows, now=now, zone=zone, seed=options.seed, say=say)
        load_seconds = time.perf_counter() - started
        say("folding the rollups and building the day cells, as the app's compaction does")
        await compact(url, settings.timezone)
        loaded = int(await conn.fetchval("SELECT count(*) FROM conversion"))
        table_mb = int(await conn.fetchval("SELECT pg_total_relation_size('conversion')")) / 2**20
        machine_info = machine()
        machine_info["postgresql"] = str(await conn.fetchval("SHOW server_version"))
        say(f"loaded {loaded:,} rows in {load_seconds:.1f} s ({table_mb:.0f} MB with indexes)")
        results = [QuestionResult(q, q in AS_PARTNER, 0) for q in QUESTIONS]
        admin = ADMIN
        partner = partner_principal(tenant_ids[0])
        # One warm-up pass (caches, the names read from the data), not counted.
        for result in results:
            try:
                answer = await service.answer(
                    conn,
                    partner if result.as_partner else admin,
                    result.question,
                    settings=settings,
                )
                result.rows = len(answer.rows)
                result.from_days = "conversion_days" in answer.sql
            except CannotAnswer as exc:
                result.error = f"cannot answer: {exc.message}"
        say(f"asking {len(QUESTIONS)} questions x {options.rounds} rounds")
        load_before = os.getloadavg()[0]
        for round_number in range(options.rounds):
            for result in results:
                if result.error is not None:
                    continue
                principal = partner if result.as_partner else admin
                began = time.perf_counter()
                await service.answer(conn, principal, result.question, settings=settings)
                result.timings_ms.append((time.perf_counter() - began) * 1000)
            if (round_number + 1) % 5 == 0:
                say(f"  round {round_number + 1}/{options.rounds}")
        machine_info["load average (1 min) before / after asking"] = (
            f"{load_before:.1f} / {os.getloadavg()[0]:.1f} "
            f"(other programs share the {os.cpu_count()} cores)"
        )
    finally:
        await conn.close()
    return BenchResult(options, machine_info, loaded, load_seconds, table_mb, results)


def run_bench(options: Options, say: Callable[[str], None] = print) -> BenchResult:
    with bench_database(options, say) as url:
        return asyncio.run(measure(url, options, say))


# --------------------------------------------------------------------------- reports


def _ms(value: float) -> str:
    return f"{value:.1f}"


def table(result: BenchResult) -> str:
    lines = [
        "| question | asked as | reads | rows | p50 ms | p95 ms | max ms |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for q in result.questions:
        who = "partner" if q.as_partner else "admin"
        if q.error is not None:
            lines.append(f"| {q.question} | {who} | | — | {q.error} | | |")
            continue
        reads = "day cells" if q.from_days else "rows"
        lines.append(
            f"| {q.question} | {who} | {reads} | {q.rows} | {_ms(q.p50)} | {_ms(q.p95)} "
            f"| {_ms(q.max)} |"
        )
    timings = result.all_timings
    worst = max(timings) if timings else float("nan")
    lines.append(
        f"| **all {len(timings)} answers** | | | | **{_ms(percentile(timings, 50))}** | "
        f"**{_ms(percentile(timings, 95))}** | **{_ms(worst)}** |"
    )
    return "\n".join(lines)


def summary(result: BenchResult) -> str:
    timings = result.all_timings
    p95 = percentile(timings, 95)
    verdict = "met" if p95 < TARGET_P95_MS else "NOT met"
    return (
        f"{result.loaded_rows:,} conversions loaded in {result.load_seconds:.1f} s; "
        f"{len(timings)} answers, p50 {_ms(percentile(timings, 50))} ms, "
        f"p95 {_ms(p95)} ms, max {_ms(max(timings) if timings else float('nan'))} ms "
        f"(target p95 < {TARGET_P95_MS:.0f} ms: {verdict})"
    )


def console(result: BenchResult) -> str:
    return table(result) + "\n\n" + summary(result)


def write_markdown(path: Path, result: BenchResult, command: str) -> None:
    options = result.options
    machine_lines = "\n".join(f"- {key}: {value}" for key, value in result.machine.items())
    text = f"""# Benchmark: natural-language questions

`make bench` runs it after the postback benchmark; alone:

```bash
{command}
```

It loads {options.rows:,} generated conversions with COPY (four partners, ten offers in MYR,
SGD, IDR and USD, three statuses, about {DUPLICATE_SHARE:.0%} duplicates, spread over the
{DAYS} days before the run with more in the evening) into a database of its own (an embedded
PostgreSQL unless `--database-url` names a server, where it creates and then drops a new
database), then asks a fixed mix of {len(QUESTIONS)} questions in Chinese and English
(totals, breakdowns, top and bottom N, period comparisons, series by hour, day, week and
month) {options.rounds} times each through `answer()`, the function behind `POST /api/nlq`:
parsing, SQL generation, the SQL guard, and the query run read-only as the reporting role.
One warm-up pass is not counted. A few questions are asked as one partner (the partner
filter on every view reference), the rest as the admin. Times are per answer, in ms.

## Last run

{summary(result)}

{table(result)}

Machine:
{machine_lines}
- load: {result.loaded_rows:,} rows in {result.load_seconds:.1f} s; `conversion` with its
  indexes: {result.table_mb:.0f} MB

## Reading

After loading, the bench runs the app's compaction once, as a running service does every few
seconds: the deltas are folded and the reporting timezone's day cells built. Questions whose
every part a day cell holds (counts and sums by partner, offer id, status, currency, day, week
or month, over whole local days; the "reads" column) are answered from
`reporting.conversion_days`, some thousands of cells, whatever the number of rows. The others
(hours, the past N hours, averages, amount thresholds, offer names, sub-ids) read rows.

Questions about a day or a week read a few thousand to tens of thousands of rows through the
`occurred_at` and `(tenant_id, occurred_at)` indexes (the rows lie in time order, as the
write path stores them) and answer in 5 to 40 ms, most of it the query itself: parsing and
SQL generation take about 1.5 ms, the guard (sqlglot parse, checks, regeneration) about 1.5
ms. Questions over a month, 30 or 90 days or a year aggregate 300,000 to 1,000,000 rows with
PostgreSQL's parallel workers when they cannot read day cells; they set the p95. Before day
cells, the slowest was a series by month over the year (every row's time converted to the
reporting timezone, then truncated to its month): 420–630 ms at p50.
The figures move with what else runs on the machine (see the load average above): the same
run with other programs busy on both cores was up to twice as slow.
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
