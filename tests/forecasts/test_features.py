"""`postback export features --out DIR`: generated rows of two partners in two reporting
timezones go into the real tables; the command (a real subprocess) writes features.parquet;
read back with pyarrow, every row and column equals what is computed here straight from the
generated rows, without the app's code."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from tests.factories import create_tenant

FIRST = date(2026, 11, 1)
DAYS = 10
SINCE, UNTIL = date(2026, 11, 3), date(2026, 11, 10)
STATUSES = ("pending", "approved", "rejected", "paid")


@dataclass(frozen=True)
class Row:
    slug: str
    offer: str
    at: datetime
    status: str
    duplicate: bool
    sale: Decimal
    payout: Decimal


def generate(slug: str, zone: ZoneInfo, rng: random.Random) -> tuple[list[Row], list[tuple]]:
    rows, rejections = [], []
    for d in range(DAYS):
        day = FIRST + timedelta(days=d)
        for offer in ("O1", "O2"):
            if offer == "O2" and d in (4, 5):
                continue  # a gap: zeros, and lags that see them
            for _ in range(rng.randint(1, 6)):
                at = datetime.combine(day, time(rng.randint(0, 23), rng.randint(0, 59)), zone)
                sale = Decimal(rng.randint(1000, 20000)) / 100
                rows.append(
                    Row(
                        slug,
                        offer,
                        at,
                        rng.choice(STATUSES),
                        rng.random() < 0.2,
                        sale,
                        (sale * Decimal("0.07")).quantize(Decimal("0.01")),
                    )
                )
        for _ in range(rng.randint(0, 3)):
            received = datetime.combine(day, time(rng.randint(0, 23)), zone)
            rejections.append((slug, rng.choice(("O1", None)), received))
    return rows, rejections


def expected(rows: list[Row], rejections: list[tuple], zones: dict[str, ZoneInfo]) -> list[dict]:
    cells: dict[tuple[str, str | None, date], dict[str, float]] = defaultdict(
        lambda: defaultdict(float)
    )
    for r in rows:
        cell = cells[(r.slug, r.offer, r.at.astimezone(zones[r.slug]).date())]
        if r.duplicate:
            cell["duplicates"] += 1
            continue
        cell["conversions"] += 1
        cell["approved"] += r.status in ("approved", "paid")
        cell["status_rejected"] += r.status == "rejected"
        cell["sales_usd"] += float(r.sale)
        cell["payouts_usd"] += float(r.payout)
        cell["payouts_myr"] += float(r.payout * 4)
    for slug, offer, received in rejections:
        cells[(slug, offer, received.astimezone(zones[slug]).date())]["rejections"] += 1
    first: dict[tuple[str, str | None], date] = {}
    for slug, offer, day in cells:
        first[(slug, offer)] = min(day, first.get((slug, offer), day))
    out = []
    for (slug, offer), start in first.items():
        day = max(start, SINCE)
        while day <= UNTIL:
            c = cells.get((slug, offer, day), {})
            conv, dup, rej = c.get("conversions", 0), c.get("duplicates", 0), c.get("rejections", 0)

            def lag(n: int, name: str, day: date = day, slug: str = slug, offer=offer, start=start):
                back = day - timedelta(days=n)
                return cells.get((slug, offer, back), {}).get(name, 0) if back >= start else None

            out.append(
                {
                    "tenant": slug,
                    "offer_id": offer,
                    "day": day,
                    "timezone": zones[slug].key,
                    "weekday": day.weekday(),
                    "is_weekend": day.weekday() >= 5,
                    "conversions": conv,
                    "duplicates": dup,
                    "approved": c.get("approved", 0),
                    "status_rejected": c.get("status_rejected", 0),
                    "rejections": rej,
                    "sales_usd": c.get("sales_usd", 0.0),
                    "payouts_usd": c.get("payouts_usd", 0.0),
                    "payouts_myr": c.get("payouts_myr", 0.0),
                    "approval_rate": c.get("approved", 0) / conv if conv else None,
                    "status_rejected_rate": c.get("status_rejected", 0) / conv if conv else None,
                    "duplicate_rate": dup / (conv + dup) if conv + dup else None,
                    "rejection_rate": rej / (conv + dup + rej) if conv + dup + rej else None,
                    "conversions_lag1": lag(1, "conversions"),
                    "conversions_lag7": lag(7, "conversions"),
                    "payouts_usd_lag1": lag(1, "payouts_usd"),
                    "payouts_usd_lag7": lag(7, "payouts_usd"),
                }
            )
            day += timedelta(days=1)
    return out


async def insert(db, tenants: dict[str, int], rows: list[Row], rejections: list[tuple]) -> None:
    await db.execute(
        """
INSERT INTO conversion (receipt_id, tenant_id, conversion_id, offer_id, offer_name,
    datetime_conversion, usd_sale_amount, usd_payout, myr_payout, conversion_currency, status,
    raw, received_at, deduplicated, is_duplicate)
SELECT gen_random_uuid(), t, c, o, o, d, s, p, p * 4, 'USD', st, '{}', d, true, dup
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::numeric[],
            $6::numeric[], $7::text[], $8::bool[]) AS u(t, c, o, d, s, p, st, dup)""",
        [tenants[r.slug] for r in rows],
        [f"FEAT-{i}" for i in range(len(rows))],
        [r.offer for r in rows],
        [r.at for r in rows],
        [r.sale for r in rows],
        [r.payout for r in rows],
        [r.status for r in rows],
        [r.duplicate for r in rows],
    )
    await db.executemany(
        "INSERT INTO rejection (received_at, tenant_id, reason, errors, payload)"
        " VALUES ($1, $2, 'invalid', '[]', $3::jsonb)",
        [
            (at, tenants[slug], json.dumps({"offer_id": offer} if offer else {"x": "1"}))
            for slug, offer, at in rejections
        ],
    )


async def test_features_equal_what_the_rows_say(app, db, cli, tmp_path):
    zones = {"shop-my": ZoneInfo("Asia/Kuala_Lumpur"), "laz-id": ZoneInfo("Asia/Jakarta")}
    tenants = {}
    rows: list[Row] = []
    rejections: list[tuple] = []
    rng = random.Random(5)
    for slug, zone in zones.items():
        tenants[slug] = (await create_tenant(app, slug, timezone=zone.key)).tenant.id
        made, refused = generate(slug, zone, rng)
        rows += made
        rejections += refused
    await insert(db, tenants, rows, rejections)

    out = tmp_path / "features"
    run = await cli(
        "export", "features", "--out", str(out), "--since", str(SINCE), "--until", str(UNTIL)
    )
    assert run.code == 0, run.stderr
    table = pq.read_table(out / "features.parquet")
    got = sorted(table.to_pylist(), key=lambda r: (r["tenant"], r["offer_id"] or "", r["day"]))
    want = sorted(
        expected(rows, rejections, zones),
        key=lambda r: (r["tenant"], r["offer_id"] or "", r["day"]),
    )
    assert "rows (2 partners) written" in run.stdout
    assert len(got) == len(want)
    assert {r["tenant_id"] for r in got} == set(tenants.values())
    for g, w in zip(got, want, strict=True):
        key = (w["tenant"], w["offer_id"], w["day"])
        for name, value in w.items():
            if isinstance(value, float):
                assert g[name] == pytest.approx(value, abs=1e-6), (key, name)
            else:
                assert g[name] == value, (key, name)
    # The gap of O2: zero days in the grid, their lags seen the day after.
    gap = [r for r in got if r["tenant"] == "shop-my" and r["offer_id"] == "O2"]
    assert [r["conversions"] for r in gap if r["day"] == date(2026, 11, 5)] == [0]
    assert table.schema.field("day").type == "date32[day]"


async def test_one_partner_and_nothing_yet(app, db, cli, tmp_path):
    await create_tenant(app, "quiet")
    run = await cli("export", "features", "--out", str(tmp_path), "--partner", "quiet")
    assert run.code == 0, run.stderr
    assert pq.read_table(tmp_path / "features.parquet").num_rows == 0
