"""A generated, seeded dataset for the question tests: partners, offers in several
countries and currencies, statuses, amounts, sub ids, duplicates and rejections, spread over
the 90 days before a fixed clock. The rows are kept in Python too, so each test computes its
expected answer from them without the engine's code."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import asyncpg

ZONE = ZoneInfo("Asia/Kuala_Lumpur")
# A Wednesday afternoon in the reporting timezone.
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=ZONE)
CENT = Decimal("0.01")

PARTNERS = [
    ("alpha-media", "Alpha Media"),
    ("beta-deals", "Beta Deals"),
    ("gamma-net", "Gamma Net"),
]
# offer id, name, currency, local units per MYR, typical local sale amount
OFFERS = [
    ("1001", "Shopee MY", "MYR", Decimal("1"), 120),
    ("1002", "Shopee SG", "SGD", Decimal("0.29"), 45),
    ("2001", "Lazada MY", "MYR", Decimal("1"), 150),
    ("2002", "Lazada SG", "SGD", Decimal("0.29"), 60),
    ("3001", "TikTok Shop MY", "MYR", Decimal("1"), 80),
    ("4001", "Zalora ID", "IDR", Decimal("3500"), 400_000),
    ("5001", "Agoda TH", "THB", Decimal("7.6"), 2500),
]
USD_PER_MYR = Decimal("0.2237")
STATUSES = ["approved", "pending", "rejected"]
AFF_SUBS = ["campaign-a", "campaign-b", "fb-ads", "ig-story"]
AFF_SUB2S = ["banner", "video", None]
ADV_SUBS = ["new-buyer", "returning"]
REASONS = ["invalid amount", "rate limited", "unknown token"]


@dataclass(frozen=True)
class Row:
    """One row of `conversion` as the test knows it."""

    partner: str
    conversion_id: str
    offer_id: str
    offer_name: str
    status: str
    currency: str
    sale_local: Decimal
    sale_myr: Decimal
    sale_usd: Decimal
    payout_local: Decimal
    payout_myr: Decimal
    payout_usd: Decimal
    occurred_at: datetime
    is_duplicate: bool
    aff_sub: str
    aff_sub2: str | None
    adv_sub: str


@dataclass(frozen=True)
class Rejection:
    partner: str | None
    received_at: datetime
    reason: str


@dataclass(frozen=True)
class Dataset:
    rows: list[Row]
    rejections: list[Rejection]

    @property
    def first_rows(self) -> list[Row]:
        return [r for r in self.rows if not r.is_duplicate]


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def generate(seed: int = 20261125, conversions: int = 2400) -> Dataset:
    rng = random.Random(seed)
    rows: list[Row] = []
    span = 90 * 24 * 3600
    for n in range(conversions):
        partner = rng.choices([p[0] for p in PARTNERS], weights=[5, 3, 2])[0]
        offer_id, name, currency, per_myr, typical = rng.choices(
            OFFERS, weights=[6, 3, 4, 2, 3, 1, 1]
        )[0]
        local = _money(Decimal(str(round(typical * rng.uniform(0.2, 2.5), 2))))
        if currency == "IDR":
            local = Decimal(int(local / 100) * 100)
        myr = _money(local / per_myr)
        rate = Decimal(rng.choice(["0.03", "0.05", "0.07", "0.1"]))
        when = NOW - timedelta(seconds=rng.randrange(60, span))
        row = Row(
            partner=partner,
            conversion_id=f"CV-{n:05d}",
            offer_id=offer_id,
            offer_name=name,
            status=rng.choices(STATUSES, weights=[55, 30, 15])[0],
            currency=currency,
            sale_local=local,
            sale_myr=myr,
            sale_usd=_money(myr * USD_PER_MYR),
            payout_local=_money(local * rate),
            payout_myr=_money(myr * rate),
            payout_usd=_money(myr * rate * USD_PER_MYR),
            occurred_at=when,
            is_duplicate=False,
            aff_sub=rng.choice(AFF_SUBS),
            aff_sub2=rng.choice(AFF_SUB2S),
            adv_sub=rng.choice(ADV_SUBS),
        )
        rows.append(row)
        if rng.random() < 0.06:  # the network sent it again
            for _ in range(rng.choice([1, 1, 2])):
                rows.append(
                    Row(
                        **{
                            **row.__dict__,
                            "is_duplicate": True,
                            "status": rng.choice(STATUSES),
                        }
                    )
                )
    rejections = [
        Rejection(
            rng.choice([p[0] for p in PARTNERS] + [None]),
            NOW - timedelta(seconds=rng.randrange(60, span)),
            rng.choice(REASONS),
        )
        for _ in range(180)
    ]
    return Dataset(rows, rejections)


async def load(db: asyncpg.Connection, data: Dataset) -> dict[str, int]:
    """Write the partners, conversions and rejections; return each partner's tenant id."""
    ids: dict[str, int] = {}
    for slug, name in PARTNERS:
        ids[slug] = int(
            await db.fetchval(
                "INSERT INTO tenant (slug, name) VALUES ($1, $2) RETURNING id", slug, name
            )
        )
    first_ids: dict[tuple[str, str], int] = {}
    for row in data.rows:
        key = (row.partner, row.conversion_id)
        pk = int(
            await db.fetchval(
                "INSERT INTO conversion (receipt_id, tenant_id, conversion_id, offer_id,"
                " offer_name, datetime_conversion, sale_amount_local, myr_sale_amount,"
                " usd_sale_amount, payout_local, myr_payout, usd_payout, conversion_currency,"
                " status, status_raw, aff_sub, aff_sub2, adv_sub, raw, received_at,"
                " deduplicated, is_duplicate, first_id)"
                " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14,$15,$16,$17,"
                " '{}', $6::timestamptz + interval '2 minutes', true, $18, $19) RETURNING id",
                uuid.uuid4(),
                ids[row.partner],
                row.conversion_id,
                row.offer_id,
                row.offer_name,
                row.occurred_at,
                row.sale_local,
                row.sale_myr,
                row.sale_usd,
                row.payout_local,
                row.payout_myr,
                row.payout_usd,
                row.currency,
                row.status,
                row.aff_sub,
                row.aff_sub2,
                row.adv_sub,
                row.is_duplicate,
                first_ids.get(key) if row.is_duplicate else None,
            )
        )
        if not row.is_duplicate:
            first_ids[key] = pk
    await db.executemany(
        "INSERT INTO rejection (received_at, tenant_id, reason, errors) VALUES ($1, $2, $3, '[]')",
        [
            (r.received_at, ids.get(r.partner) if r.partner else None, r.reason)
            for r in data.rejections
        ],
    )
    return ids
