"""Forecasts per partner: its last HISTORY_DAYS complete local days of conversions and
payouts (USD), and the next `horizon` days from today on (today included: the partial day
shown beside its expected total), each with its band (model.py).

A forecast changes only when a day completes, so each is kept in memory until the partner's
next local midnight or CACHE_SECONDS, whichever comes first; a fit takes some 50 ms.
"""

from __future__ import annotations

import time as clock
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from postback.forecasts import model, repository
from postback.forecasts.repository import Day, Partner
from postback.forecasts.schemas import ForecastDay, ForecastPage, PartnerForecast

HISTORY_DAYS = 8 * 7
HORIZON_DAYS = 7
CACHE_SECONDS = 600.0

_cache: dict[tuple[int, str, date, int], tuple[float, PartnerForecast]] = {}


def _zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def forecast_days(
    history: list[Day], first_day: date, horizon: int = HORIZON_DAYS
) -> tuple[list[ForecastDay], str]:
    """The next `horizon` days from `first_day` and the model's name; TooLittleHistory."""
    # Days before the partner's first conversion are not history (a newcomer, a backfill).
    started = next((i for i, d in enumerate(history) if d.conversions or d.payouts_usd), None)
    kept = history[started:] if started is not None else []
    conversions = model.predict([d.conversions for d in kept], horizon)
    payouts = model.predict([d.payouts_usd for d in kept], horizon)
    days = [
        ForecastDay(
            day=first_day + timedelta(days=i),
            conversions=round(conversions.mean[i], 1),
            conversions_lower=round(conversions.lower[i], 1),
            conversions_upper=round(conversions.upper[i], 1),
            payouts_usd=round(payouts.mean[i], 2),
            payouts_usd_lower=round(payouts.lower[i], 2),
            payouts_usd_upper=round(payouts.upper[i], 2),
        )
        for i in range(horizon)
    ]
    return days, conversions.model


async def partner_forecast(
    session: AsyncSession | AsyncConnection,
    partner: Partner,
    default_zone: str,
    today: date | None = None,
    *,
    horizon: int = HORIZON_DAYS,
    history_days: int = HISTORY_DAYS,
) -> PartnerForecast:
    """One partner's forecast from `today` (its local today by default) on."""
    zone = _zone(partner.timezone, default_zone)
    today = today or datetime.now(zone).date()
    history = await repository.daily(
        session, partner.tenant_id, zone, today - timedelta(days=history_days), today
    )
    used = len(history) - next(
        (i for i, d in enumerate(history) if d.conversions or d.payouts_usd), len(history)
    )
    base = {
        "tenant": partner.slug,
        "name": partner.name,
        "timezone": zone.key,
        "history_days": used,
        "level": model.LEVEL,
    }
    try:
        days, name = forecast_days(history, today, horizon)
    except model.TooLittleHistory as exc:
        return PartnerForecast(**base, model=None, note=str(exc), days=[])
    return PartnerForecast(**base, model=name, note=None, days=days)


async def forecasts(
    session: AsyncSession,
    *,
    tenant_id: int | None,
    slug: str | None,
    default_zone: str,
    horizon: int = HORIZON_DAYS,
) -> ForecastPage:
    """Forecasts of the partners asked for: a partner's key gets its own only."""
    found = []
    now = clock.monotonic()
    for partner in await repository.partners(session, tenant_id=tenant_id, slug=slug):
        zone = _zone(partner.timezone, default_zone)
        key = (partner.tenant_id, zone.key, datetime.now(zone).date(), horizon)
        cached = _cache.get(key)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            found.append(cached[1])
            continue
        made = await partner_forecast(session, partner, default_zone, horizon=horizon)
        _cache[key] = (now, made)
        found.append(made)
    for stale in [k for k, (at, _) in _cache.items() if now - at >= CACHE_SECONDS]:
        _cache.pop(stale, None)
    return ForecastPage(generated_at=datetime.now().astimezone(), horizon_days=horizon, items=found)


def forget() -> None:
    """Drop every kept forecast (tests, after changing the data under them)."""
    _cache.clear()
