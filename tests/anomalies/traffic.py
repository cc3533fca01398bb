"""Generated traffic for the anomaly backtest: several partners' postbacks over weeks, with a
daily and weekly rhythm, Poisson arrivals, multi-item orders, a few duplicates and
rejections, and anomalies of every kind injected at known times.

It knows nothing of the detectors: it decides what happens and records where it injected
anomalies (`Episode`); the backtest compares that record with the alerts the scans raise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
START = datetime(2026, 9, 1, tzinfo=UTC)  # a Tuesday


@dataclass(frozen=True)
class Offer:
    offer_id: str
    share: float
    payout_ratio: float


@dataclass(frozen=True)
class Partner:
    slug: str
    name: str
    peak: float  # conversions an hour at the busiest hour of a weekday
    offers: tuple[Offer, ...]
    joins: datetime = START
    injected: bool = True


@dataclass(frozen=True)
class Episode:
    slug: str
    kind: str
    start: datetime
    end: datetime
    offer_id: str | None = None


@dataclass
class Row:
    slug: str
    conversion_id: str
    offer_id: str
    order_id: str
    occurred_at: datetime
    received_at: datetime
    sale: float
    payout: float
    is_duplicate: bool = False
    datetime_conversion: datetime | None = None


@dataclass
class Hour:
    """What arrives in one received hour: conversions and rejections per partner."""

    rows: list[Row] = field(default_factory=list)
    rejections: list[tuple[str, datetime]] = field(default_factory=list)


PARTNERS = (
    Partner(
        "shopee-my",
        "Shopee MY",
        60,
        (Offer("SHP-1", 0.5, 0.06), Offer("SHP-2", 0.3, 0.08), Offer("SHP-3", 0.2, 0.10)),
    ),
    Partner("lazada-sg", "Lazada SG", 36, (Offer("LZD-1", 0.6, 0.05), Offer("LZD-2", 0.4, 0.09))),
    Partner(
        "tiktok-th", "TikTok Shop TH", 24, (Offer("TTS-1", 0.7, 0.07), Offer("TTS-2", 0.3, 0.12))
    ),
    # Clean all along: every alert on it is a false one.
    Partner(
        "zalora-ph",
        "Zalora PH",
        40,
        (Offer("ZAL-1", 0.5, 0.08), Offer("ZAL-2", 0.5, 0.06)),
        injected=False,
    ),
)
# Joins late with odd traffic from the start: too little history, so nothing may be raised.
NEWCOMER = Partner("newcomer", "Newcomer", 30, (Offer("NEW-1", 1.0, 0.07),), joins=START + 52 * DAY)

KINDS = (
    "silence",
    "volume_spike",
    "volume_drop",
    "rejection_surge",
    "duplicate_surge",
    "payout_ratio",
    "order_repeat",
    "future_time",
    "stale_time",
)
DURATION = {
    "silence": 4,
    "volume_spike": 3,
    "volume_drop": 5,
    "rejection_surge": 3,
    "duplicate_surge": 3,
    "payout_ratio": 4,
    "order_repeat": 1,
    "future_time": 1,
    "stale_time": 1,
}


def profile(moment: datetime) -> float:
    """The share of the peak rate at this hour: busiest around 13:00 UTC (21:00 in Kuala
    Lumpur), quiet at night, a quarter busier at weekends."""
    hour = moment.hour + moment.minute / 60
    daily = 0.15 + 0.85 * math.exp(-(((hour - 13) / 5) ** 2))
    return daily * (1.25 if moment.weekday() >= 5 else 1.0)


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def schedule(days: int, seed: int = 7) -> list[Episode]:
    """Two episodes of every kind for each injected partner, at busy hours, a day or more
    apart, from day 26 on (the detectors' history needs three weeks), and a few on the
    newcomer (which must raise nothing)."""
    rng = random.Random(seed)
    episodes = []
    injected = [p for p in PARTNERS if p.injected]
    for number, partner in enumerate(injected):
        kinds = list(KINDS) * 2
        rng.shuffle(kinds)
        for i, kind in enumerate(kinds):
            day = 26 + i * (days - 28) / len(kinds) + number * 0.3
            start = START + int(day) * DAY + timedelta(hours=rng.choice((10, 11, 12, 13, 14)))
            offer = rng.choice(partner.offers).offer_id if kind == "payout_ratio" else None
            if kind == "volume_spike" and i % 2:
                offer = partner.offers[0].offer_id  # a spike of one offer
            episodes.append(
                Episode(partner.slug, kind, start, start + DURATION[kind] * HOUR, offer)
            )
    for kind, day in (("volume_spike", 54), ("silence", 55), ("duplicate_surge", 56)):
        start = START + day * DAY + 12 * HOUR
        episodes.append(Episode(NEWCOMER.slug, kind, start, start + DURATION[kind] * HOUR))
    return episodes


class Traffic:
    """Generates hour after hour; `received(hour)` is what arrives in that hour."""

    def __init__(self, episodes: list[Episode], seed: int = 11) -> None:
        self.episodes = episodes
        self.partners = (*PARTNERS, NEWCOMER)
        self._rng = random.Random(seed)
        self._pending: list[Row] = []
        self._serial = 0

    def _active(self, slug: str, kind: str, moment: datetime) -> Episode | None:
        for e in self.episodes:
            if e.slug == slug and e.kind == kind and e.start <= moment < e.end:
                return e
        return None

    def _next_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-{self._serial}"

    def _occur(self, partner: Partner, hour: datetime) -> Iterator[Row]:
        """Conversions that happen in `hour` (by conversion time)."""
        rng = self._rng
        drop = self._active(partner.slug, "volume_drop", hour)
        spike = self._active(partner.slug, "volume_spike", hour)
        ratio = self._active(partner.slug, "payout_ratio", hour)
        for offer in partner.offers:
            mean = partner.peak * offer.share * profile(hour)
            if drop:
                mean *= 0.15
            if spike and spike.offer_id in (None, offer.offer_id):
                mean *= 4
            orders = poisson(rng, mean / 1.25)  # 1.25 conversions per order on average
            for _ in range(orders):
                order_id = self._next_id("ORD")
                items = 1 if rng.random() < 0.8 else rng.choice((2, 3))
                for _ in range(items):
                    occurred = hour + rng.random() * HOUR
                    delay = timedelta(minutes=min(90.0, rng.expovariate(1 / 6)))
                    sale = round(rng.uniform(5, 120), 2)
                    share = offer.payout_ratio * rng.uniform(0.85, 1.15)
                    if ratio and ratio.offer_id == offer.offer_id:
                        share *= 3
                    yield Row(
                        partner.slug,
                        self._next_id(partner.slug.upper()),
                        offer.offer_id,
                        order_id,
                        occurred,
                        occurred + delay,
                        sale,
                        round(sale * share, 2),
                        datetime_conversion=occurred,
                    )

    def received(self, hour: datetime) -> Hour:
        """Everything that arrives in [hour, hour + 1 h)."""
        rng = self._rng
        for partner in self.partners:
            if hour >= partner.joins:
                self._pending.extend(self._occur(partner, hour))
        end = hour + HOUR
        due = [r for r in self._pending if r.received_at < end]
        self._pending = [r for r in self._pending if r.received_at >= end]
        out = Hour()
        for partner in self.partners:
            if hour < partner.joins:
                continue
            mine = [r for r in due if r.slug == partner.slug]
            if self._active(partner.slug, "silence", hour):
                silence = self._active(partner.slug, "silence", hour)
                assert silence is not None
                mine = [r for r in mine if not silence.start <= r.received_at < silence.end]
            surge = self._active(partner.slug, "duplicate_surge", hour)
            duplicates = [
                Row(**{**r.__dict__, "is_duplicate": True})
                for r in mine
                if rng.random() < (0.5 if surge else 0.02)
            ]
            refused = self._active(partner.slug, "rejection_surge", hour)
            for _ in range(poisson(rng, len(mine) * (0.6 if refused else 0.01))):
                out.rejections.append((partner.slug, hour + rng.random() * HOUR))
            out.rows.extend(mine + duplicates)
            out.rows.extend(self._oddities(partner, hour, mine))
        return out

    def _oddities(self, partner: Partner, hour: datetime, mine: list[Row]) -> list[Row]:
        rng = self._rng
        extra: list[Row] = []
        offer = partner.offers[0].offer_id
        if self._active(partner.slug, "order_repeat", hour):
            order_id = self._next_id("ORD-REPEATED")
            for _ in range(15):
                at = hour + rng.random() * HOUR
                extra.append(
                    Row(
                        partner.slug,
                        self._next_id("REP"),
                        offer,
                        order_id,
                        at,
                        at,
                        20.0,
                        1.2,
                        datetime_conversion=at,
                    )
                )
        for kind, shift in (("future_time", 6 * HOUR), ("stale_time", -200 * DAY)):
            if self._active(partner.slug, kind, hour):
                for _ in range(8):
                    at = hour + rng.random() * HOUR
                    extra.append(
                        Row(
                            partner.slug,
                            self._next_id("ODD"),
                            offer,
                            self._next_id("ORD"),
                            at + shift,
                            at,
                            20.0,
                            1.2,
                            datetime_conversion=at + shift,
                        )
                    )
        return extra
