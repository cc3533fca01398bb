"""Changing an answered question's plan directly: the interpretation's chips on /ask (measure,
breakdown, unit, period, comparison, filters) and saved questions run again later.

An edit changes the plan the conversation kept and passes the planner's checks on a whole
plan (`planner.check`), the same rules a typed question meets. A kept plan's periods are read
again from their phrases ("yesterday", "最近7天") when it is run later, so a saved question
always answers for the current period.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from postback.nlq import planner
from postback.nlq.plan import BREAKDOWNS, METRICS, Language, Plan, TimeRange, Unit, refuse
from postback.nlq.timephrases import SAME_AS, earlier_alike, find_time_ranges, previous_period

# The periods a chip offers, by key: the phrase in each language the time parser reads.
PERIODS: dict[str, dict[Language, str]] = {
    "today": {"zh": "今天", "en": "today"},
    "yesterday": {"zh": "昨天", "en": "yesterday"},
    "last_7_days": {"zh": "最近7天", "en": "last 7 days"},
    "last_30_days": {"zh": "最近30天", "en": "last 30 days"},
    "this_week": {"zh": "本周", "en": "this week"},
    "last_week": {"zh": "上周", "en": "last week"},
    "this_month": {"zh": "本月", "en": "this month"},
    "last_month": {"zh": "上个月", "en": "last month"},
    "this_year": {"zh": "今年", "en": "this year"},
}
PeriodKey = Literal[
    "today",
    "yesterday",
    "last_7_days",
    "last_30_days",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "this_year",
]
NO_BREAKDOWN = "none"


def period_key(period: TimeRange | None) -> str | None:
    """The chip key of a period named by one of the chips' phrases, else None."""
    if period is None:
        return None
    for key, phrases in PERIODS.items():
        if period.phrase.lower() in phrases.values():
            return key
    return None


def resolve(phrase: str, now: datetime, zone: ZoneInfo) -> TimeRange | None:
    """The period `phrase` names at `now`, when the whole phrase is one time phrase."""
    found = find_time_ranges(phrase, now, zone)
    if len(found) == 1 and found[0].span == (0, len(phrase)):
        return found[0].range
    return None


def in_zone(plan: Plan, zone: ZoneInfo) -> Plan:
    """The plan with its periods' bounds in `zone` (a kept plan's carry only an offset, and
    the period before a week or a month is found by the zone's calendar)."""

    def moved(period: TimeRange | None) -> TimeRange | None:
        if period is None:
            return None
        return replace(period, start=period.start.astimezone(zone), end=period.end.astimezone(zone))

    return replace(plan, period=moved(plan.period), previous=moved(plan.previous))


def refreshed(plan: Plan, now: datetime, zone: ZoneInfo) -> Plan:
    """The plan with its periods read again at `now`: "yesterday" is the day before `now`.
    A period without a phrase (or one that no longer reads) stays as it was; the period
    compared with is the one before the new period unless it was named itself."""
    plan = in_zone(plan, zone)
    period = _again(plan.period, now, zone)
    previous = plan.previous
    if previous is not None and period is not None:
        if previous.kind in SAME_AS:
            previous = _alike(period, previous, now)
        elif previous.phrase:
            previous = _again(previous, now, zone)
        elif period is not plan.period:
            previous = previous_period(period)
    return replace(plan, period=period, previous=previous, asked_at=now)


def _again(period: TimeRange | None, now: datetime, zone: ZoneInfo) -> TimeRange | None:
    if period is None or not period.phrase:
        return period
    return resolve(period.phrase, now, zone) or period


def edited(
    plan: Plan,
    *,
    now: datetime,
    zone: ZoneInfo,
    measure: str | None = None,
    breakdown: str | None = None,
    unit: Unit | None = None,
    period: str | None = None,
    compare: bool | None = None,
    remove_filter: int | None = None,
) -> Plan:
    """`plan` with the changes given (None: unchanged), checked like a typed question's.
    Raises CannotAnswer naming what cannot be combined."""
    changed = replace(plan, filters=list(plan.filters), choices=[], ignored=[], follow_up=False)
    if changed.currency_added and (breakdown is not None or unit is not None):
        changed.breakdown, changed.currency_added = None, False
    if measure is not None:
        changed.metrics = [METRICS[measure]]
    if breakdown is not None:
        changed.breakdown = None if breakdown == NO_BREAKDOWN else BREAKDOWNS[breakdown]
        if changed.breakdown is None:
            changed.rank, changed.limit = None, None
    if unit is not None:
        changed.unit = unit
    if period is not None:
        phrase = PERIODS[period][plan.language]
        changed.period = resolve(phrase, now, zone)
        if changed.previous is not None and changed.period is not None:
            if changed.previous.kind in SAME_AS:
                changed.previous = _alike(changed.period, changed.previous, now)
            else:
                changed.previous = previous_period(changed.period)
    if compare is not None:
        changed.previous = _compared(changed, compare)
    if remove_filter is not None:
        if not 0 <= remove_filter < len(changed.filters):
            raise refuse(plan.language, "没有这个筛选条件。", "There is no such filter.")
        del changed.filters[remove_filter]
    return planner.check(changed, now=now, zone=zone)


def _alike(period: TimeRange, previous: TimeRange, now: datetime) -> TimeRange:
    """The same stretch of `period` as before ("上周同期"), keeping the phrase."""
    return replace(earlier_alike(period, previous.kind, now), phrase=previous.phrase)


def _compared(plan: Plan, compare: bool) -> TimeRange | None:
    if not compare:
        return None
    if plan.period is None:
        raise refuse(
            plan.language,
            "对比需要时间段：请先选择一个时间段。",
            "A comparison needs a period: choose one first.",
        )
    return plan.previous or previous_period(plan.period)
