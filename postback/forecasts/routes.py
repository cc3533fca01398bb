"""`GET /api/forecast`: the next days of conversions and payouts per partner, with a band.
The admin token (or a signed-in admin or analyst) reads every partner's or the one `tenant`
names; a partner's key (or user) its own only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from postback.auth import Auth
from postback.conversions.routes import PartnerSlug
from postback.deps import AppSettings, Session, SingleValues, StrictQuery
from postback.forecasts import service
from postback.forecasts.schemas import ForecastPage

router = APIRouter(prefix="/api/forecast", tags=["forecasts"])


@router.get("", response_model=ForecastPage, dependencies=[SingleValues, StrictQuery])
async def get_forecast(
    session: Session,
    principal: Auth,
    settings: AppSettings,
    tenant: PartnerSlug = None,
    days: Annotated[int, Query(ge=1, le=14, description="Days ahead, from today")] = 7,
) -> ForecastPage:
    """Per partner: the next `days` local days (today first) of conversions and payouts
    (USD), each with its 80% band, from an ETS model with a weekly season fitted on the
    last 8 weeks; no forecast for a partner with less than 3 weeks of history."""
    return await service.forecasts(
        session,
        tenant_id=principal.tenant_id,
        slug=tenant,
        default_zone=settings.timezone,
        horizon=days,
    )
