"""The forecasting model: exponential smoothing with a weekly season (statsmodels' ETSModel,
additive error, no trend, additive season of 7 days: Holt-Winters' additive model in its
state-space form, which gives prediction intervals), fitted on a partner's daily totals,
and its 80% prediction interval as the band.

A series shorter than three weeks gets no forecast (as the anomaly detectors need three
weeks of history). A constant series (all zeros) is forecast as itself. Should the fit fail,
the forecast falls back to the seasonal naive one (the same weekday last week) with a band
from its own past errors. Values below zero are cut to zero.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

SEASON = 7
MIN_DAYS = 3 * SEASON
# The band: the central 80% of what the model expects.
LEVEL = 0.8
ETS_NAME = "ETS(A,N,A) weekly"
NAIVE_NAME = "seasonal naive"


class TooLittleHistory(Exception):
    """Fewer than MIN_DAYS days: no forecast."""


@dataclass(frozen=True, slots=True)
class Prediction:
    mean: list[float]
    lower: list[float]
    upper: list[float]
    model: str


def _clipped(values: Sequence[float]) -> list[float]:
    return [max(0.0, float(v)) for v in values]


def _z(level: float) -> float:
    """The standard normal quantile of (1 + level) / 2 (1.2816 for 80%)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf((1 + level) / 2)


def seasonal_naive(values: Sequence[float], horizon: int, level: float = LEVEL) -> Prediction:
    y = np.asarray(values, dtype=float)
    last = y[-SEASON:]
    mean = [float(last[i % SEASON]) for i in range(horizon)]
    errors = y[SEASON:] - y[:-SEASON]
    spread = float(np.std(errors)) if len(errors) > 1 else 0.0
    z = _z(level)
    lower = [m - z * spread * math.sqrt(1 + i // SEASON) for i, m in enumerate(mean)]
    upper = [m + z * spread * math.sqrt(1 + i // SEASON) for i, m in enumerate(mean)]
    return Prediction(_clipped(mean), _clipped(lower), _clipped(upper), NAIVE_NAME)


def predict(values: Sequence[float], horizon: int = SEASON, level: float = LEVEL) -> Prediction:
    """The next `horizon` values of a daily series, with a `level` band."""
    if len(values) < MIN_DAYS:
        raise TooLittleHistory(f"{len(values)} days of history; a forecast needs {MIN_DAYS}")
    y = np.asarray(values, dtype=float)
    if np.allclose(y, y[0]):
        flat = [float(y[0])] * horizon
        return Prediction(flat, flat, flat, "constant")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = ETSModel(
                pd.Series(y),
                error="add",
                trend=None,
                seasonal="add",
                seasonal_periods=SEASON,
                # The initial level and season from the first weeks (not fitted): a tenth of
                # the time of a full fit, as good a forecast on these series.
                initialization_method="heuristic",
            ).fit(disp=False)
            frame = fit.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(
                alpha=1 - level
            )
        mean = frame["mean"].to_numpy()
        lower = frame["pi_lower"].to_numpy()
        upper = frame["pi_upper"].to_numpy()
        if not (np.isfinite(mean).all() and np.isfinite(lower).all() and np.isfinite(upper).all()):
            raise ValueError("the fit gave no finite forecast")
    except (ValueError, np.linalg.LinAlgError):
        return seasonal_naive(values, horizon, level)
    return Prediction(_clipped(mean), _clipped(lower), _clipped(upper), ETS_NAME)


def mape(actual: Sequence[float], forecast: Sequence[float]) -> float | None:
    """Mean absolute percentage error over the days with a non-zero actual (None: none)."""
    pairs = [(a, f) for a, f in zip(actual, forecast, strict=True) if a]
    if not pairs:
        return None
    return sum(abs(a - f) / abs(a) for a, f in pairs) / len(pairs)
