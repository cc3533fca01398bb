"""The detectors' judgement, free of SQL: robust baselines (median and MAD, from the standard
library's `statistics`) and the rule each kind of finding follows.

Every threshold is divided by the partner's sensitivity (1 by default; 2 finds twice as
readily, 0.5 half as). A series with fewer than MIN_WEEKS past weeks of history yields no
baseline, so a new partner or a just-imported backfill raises nothing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    SILENCE = "silence"
    VOLUME_SPIKE = "volume_spike"
    VOLUME_DROP = "volume_drop"
    REJECTION_SURGE = "rejection_surge"
    DUPLICATE_SURGE = "duplicate_surge"
    PAYOUT_RATIO = "payout_ratio"
    ORDER_REPEAT = "order_repeat"
    FUTURE_TIME = "future_time"
    STALE_TIME = "stale_time"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


# Past weeks a seasonal (hour of week) baseline looks at, and the fewest it needs.
WEEKS = 6
MIN_WEEKS = 3
# MAD to a normal standard deviation.
MAD_SCALE = 1.4826
# Conversions come in orders of one to a few items, so counts vary about twice as much as
# Poisson arrivals would: the least variance of a count is this times its mean.
DISPERSION = 2.0
# Robust z-scores (÷ sensitivity) beyond which a volume or rate is a finding, and critical.
Z_FINDING = 4.5
Z_CRITICAL = 10.0
# Silence: the expected postbacks in the quiet time that make it a finding (P(none) <
# e^-15 for Poisson arrivals: a partner has thousands of gaps a month), and critical.
SILENCE_EXPECTED = 15.0
SILENCE_CRITICAL = 60.0
# The least window volume a volume change is judged on (below it, noise rules).
MIN_VOLUME = 10.0
# Rates: the fewest events in the window, and the least absolute rise of the rate.
MIN_RATE_EVENTS = 10
MIN_RATE_RISE = 0.10
# Payout/sale ratio: the least sales-bearing conversions in the window, and the least
# relative departure from the usual ratio.
MIN_RATIO_CONVERSIONS = 5
MIN_RATIO_CHANGE = 0.5
# One order_id on this many conversions (÷ sensitivity) within a day is a finding.
ORDER_REPEAT_MIN = 10
# Conversion times this far ahead of their receipt, or behind it.
FUTURE_HOURS = 1
STALE_DAYS = 90
# Rows with such times in the last hour that make a finding.
TIME_ROWS_MIN = 3


@dataclass(frozen=True, slots=True)
class Baseline:
    expected: float
    scale: float


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    severity: Severity
    observed: float
    expected: float


def baseline(samples: Sequence[float], *, poisson: bool = True) -> Baseline | None:
    """Median and a robust spread of `samples`; for counts the spread is at least that of
    over-dispersed Poisson counts (√(DISPERSION × level), the level the larger of median and
    mean, as a few weeks' median of a small count runs low), so a very regular history does
    not make every wobble a finding."""
    if len(samples) < MIN_WEEKS:
        return None
    middle = statistics.median(samples)
    mad = statistics.median(abs(x - middle) for x in samples) * MAD_SCALE
    level = max(middle, statistics.fmean(samples), 1.0)
    floor = math.sqrt(DISPERSION * level) if poisson else 0.0
    return Baseline(middle, max(mad, floor, 1e-9))


def _severity(z: float, sensitivity: float) -> Severity:
    return Severity.CRITICAL if abs(z) * sensitivity >= Z_CRITICAL else Severity.WARNING


def volume(observed: float, samples: Sequence[float], sensitivity: float) -> Verdict | None:
    """A spike or a drop of a window's conversions against the same window in past weeks."""
    base = baseline(samples)
    if base is None or max(observed, base.expected) < MIN_VOLUME:
        return None
    z = (observed - base.expected) / base.scale
    limit = Z_FINDING / sensitivity
    if z >= limit and observed >= 2 * base.expected:
        return Verdict(Kind.VOLUME_SPIKE, _severity(z, sensitivity), observed, base.expected)
    if z <= -limit and observed <= 0.5 * base.expected and base.expected >= MIN_VOLUME:
        return Verdict(Kind.VOLUME_DROP, _severity(z, sensitivity), observed, base.expected)
    return None


def rate_surge(
    kind: Kind,
    events: int,
    total: int,
    past_rates: Sequence[float],
    sensitivity: float,
) -> Verdict | None:
    """A rate (rejections of postbacks, duplicates of conversions) far above its usual."""
    if total <= 0 or events < MIN_RATE_EVENTS / sensitivity:
        return None
    base = baseline(past_rates, poisson=False)
    if base is None:
        return None
    rate = events / total
    usual = base.expected
    # The binomial spread of this window's rate around the usual one.
    binomial = math.sqrt(max(usual * (1 - usual), 0.01 * 0.99) / total)
    z = (rate - usual) / max(base.scale, binomial)
    if z >= Z_FINDING / sensitivity and rate - usual >= MIN_RATE_RISE / sensitivity:
        return Verdict(kind, _severity(z, sensitivity), rate, usual)
    return None


def payout_ratio(
    conversions: int, ratio: float, past_ratios: Sequence[float], sensitivity: float
) -> Verdict | None:
    """An offer's payout/sale ratio in a window far from its usual."""
    if conversions < MIN_RATIO_CONVERSIONS:
        return None
    base = baseline(past_ratios, poisson=False)
    if base is None or base.expected <= 0:
        return None
    change = abs(ratio - base.expected) / base.expected
    z = (ratio - base.expected) / base.scale
    if abs(z) >= Z_FINDING / sensitivity and change >= MIN_RATIO_CHANGE / sensitivity:
        return Verdict(Kind.PAYOUT_RATIO, _severity(z, sensitivity), ratio, base.expected)
    return None


def silence(quiet_expected: float, sensitivity: float) -> Severity | None:
    """Whether no postbacks while `quiet_expected` were due is a finding, and how bad."""
    if quiet_expected < SILENCE_EXPECTED / sensitivity:
        return None
    if quiet_expected >= SILENCE_CRITICAL / sensitivity:
        return Severity.CRITICAL
    return Severity.WARNING


def count_over(count: int, minimum: float, sensitivity: float) -> bool:
    return count >= max(2.0, minimum / sensitivity)
