"""A kept plan read again later: its periods follow the clock ("yesterday" is the day before
the new now), a named period stays, and every chip period reads in both languages. The
expected bounds are worked out with date arithmetic here, not by the time parser."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from postback.nlq import edits, service
from postback.nlq.plan import CannotAnswer, Vocabulary, plan_from_json, plan_to_json

KL = ZoneInfo("Asia/Kuala_Lumpur")
ASKED = datetime(2026, 11, 4, 10, 0, tzinfo=KL)  # a Wednesday
LATER = datetime(2026, 12, 2, 9, 30, tzinfo=KL)  # four weeks later, also a Wednesday


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=KL)


def kept(question: str):
    """The plan of `question` asked at ASKED, as a conversation or a saved question keeps it."""
    plan = service.understand(question, now=ASKED, zone=KL, vocabulary=Vocabulary())
    return plan_from_json(plan_to_json(plan), tenant_id=None)


@pytest.mark.parametrize("question", ["conversions yesterday", "昨天的转化数"])
def test_yesterday_is_the_day_before_the_new_now(question):
    plan = edits.refreshed(kept(question), LATER, KL)
    assert plan.period is not None
    day = LATER.date() - timedelta(days=1)
    assert (plan.period.start, plan.period.end) == (midnight(day), midnight(LATER.date()))


def test_a_compared_week_moves_with_its_week():
    plan = edits.refreshed(kept("sales this week vs last week"), LATER, KL)
    assert plan.period is not None
    assert plan.previous is not None
    monday = LATER.date() - timedelta(days=LATER.weekday())
    assert plan.period.start == midnight(monday)
    assert plan.previous.start == midnight(monday - timedelta(days=7))
    assert plan.previous.end == midnight(monday)


def test_a_named_day_stays():
    plan = kept("conversions on 2026-10-01")
    assert edits.refreshed(plan, LATER, KL).period == edits.in_zone(plan, KL).period


@pytest.mark.parametrize("key", sorted(edits.PERIODS))
@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_chip_period_reads(key, language):
    period = edits.resolve(edits.PERIODS[key][language], LATER, KL)
    assert period is not None
    assert edits.period_key(period) == key
    assert period.start < period.end
    # Each ends by the end of today and starts no later than today.
    tomorrow = midnight(LATER.date() + timedelta(days=1))
    assert period.start <= tomorrow - timedelta(days=1) or key == "today"
    assert period.end <= tomorrow or key in ("this_week", "this_month", "this_year")


def test_local_amounts_without_a_breakdown_are_given_by_currency():
    # By offer, local amounts of several currencies cannot be added: refused.
    with pytest.raises(CannotAnswer):
        edits.edited(kept("sales by offer yesterday"), now=LATER, zone=KL, unit="local")
    # Without a breakdown they are given by currency…
    total = edits.edited(kept("sales yesterday"), now=LATER, zone=KL, unit="local")
    assert total.breakdown is not None
    assert total.breakdown.key == "currency"
    assert total.currency_added
    # …and back in MYR, the added breakdown goes.
    back = edits.edited(total, now=LATER, zone=KL, unit="myr")
    assert back.breakdown is None
    assert not back.currency_added


def test_like_for_like_moves_with_its_period():
    """ "This week vs the same period last week", saved and run four weeks later: last week
    up to the same moment of the new now."""
    plan = edits.refreshed(kept("sales this week vs the same period last week"), LATER, KL)
    assert plan.previous is not None
    monday = LATER.date() - timedelta(days=LATER.weekday())
    assert plan.previous.start == midnight(monday - timedelta(days=7))
    assert plan.previous.end == LATER - timedelta(days=7)
    assert plan.previous.phrase == "the same period last week"
