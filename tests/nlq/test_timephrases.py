"""The table of time phrases, Chinese and English: each resolves to the half-open range
written out here, in the reporting timezone, from a fixed clock (Wednesday 2026-11-25 15:30
in Kuala Lumpur)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from postback.nlq.lexer import normalise
from postback.nlq.plan import TimeRange
from postback.nlq.timephrases import (
    digits_for_numerals,
    find_time_ranges,
    previous_period,
)

KL = ZoneInfo("Asia/Kuala_Lumpur")
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=KL)


def d(month: int, day: int, year: int = 2026, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KL)


TABLE: list[tuple[str, datetime, datetime]] = [
    # days
    ("今天", d(11, 25), d(11, 26)),
    ("今日", d(11, 25), d(11, 26)),
    ("today", d(11, 25), d(11, 26)),
    ("昨天", d(11, 24), d(11, 25)),
    ("昨日", d(11, 24), d(11, 25)),
    ("yesterday", d(11, 24), d(11, 25)),
    ("前天", d(11, 23), d(11, 24)),
    ("the day before yesterday", d(11, 23), d(11, 24)),
    ("三天前", d(11, 22), d(11, 23)),
    ("3 days ago", d(11, 22), d(11, 23)),
    # weeks (Monday to Monday)
    ("本周", d(11, 23), d(11, 30)),
    ("这周", d(11, 23), d(11, 30)),
    ("这个星期", d(11, 23), d(11, 30)),
    ("this week", d(11, 23), d(11, 30)),
    ("week to date", d(11, 23), d(11, 30)),
    ("上周", d(11, 16), d(11, 23)),
    ("上个星期", d(11, 16), d(11, 23)),
    ("上礼拜", d(11, 16), d(11, 23)),
    ("last week", d(11, 16), d(11, 23)),
    ("previous week", d(11, 16), d(11, 23)),
    # last N days / weeks / months: whole days up to and including today
    ("最近7天", d(11, 19), d(11, 26)),
    ("最近七天", d(11, 19), d(11, 26)),
    ("过去十四天", d(11, 12), d(11, 26)),
    ("近30天", d(10, 27), d(11, 26)),
    ("最近一周", d(11, 19), d(11, 26)),
    ("近一个月", d(10, 26), d(11, 26)),
    ("最近两周", d(11, 12), d(11, 26)),
    ("last 7 days", d(11, 19), d(11, 26)),
    ("last seven days", d(11, 19), d(11, 26)),
    ("last 30 days", d(10, 27), d(11, 26)),
    ("in the past 14 days", d(11, 12), d(11, 26)),
    ("the last 2 weeks", d(11, 12), d(11, 26)),
    ("past week", d(11, 19), d(11, 26)),
    ("last 3 months", d(8, 26), d(11, 26)),
    # last N hours: exactly back from now
    ("过去24小时", d(11, 24, hour=15, minute=30), NOW),
    ("过去二十四小时", d(11, 24, hour=15, minute=30), NOW),
    ("最近3个小时", d(11, 25, hour=12, minute=30), NOW),
    ("24小时内", d(11, 24, hour=15, minute=30), NOW),
    ("past 24 hours", d(11, 24, hour=15, minute=30), NOW),
    ("last 6 hours", d(11, 25, hour=9, minute=30), NOW),
    ("last hour", d(11, 25, hour=14, minute=30), NOW),
    ("past 90 minutes", d(11, 25, hour=14), NOW),
    # months and years
    ("本月", d(11, 1), d(12, 1)),
    ("这个月", d(11, 1), d(12, 1)),
    ("this month", d(11, 1), d(12, 1)),
    ("month to date", d(11, 1), d(12, 1)),
    ("上个月", d(10, 1), d(11, 1)),
    ("上月", d(10, 1), d(11, 1)),
    ("last month", d(10, 1), d(11, 1)),
    ("今年", d(1, 1), d(1, 1, 2027)),
    ("this year", d(1, 1), d(1, 1, 2027)),
    ("ytd", d(1, 1), d(1, 1, 2027)),
    ("去年", d(1, 1, 2025), d(1, 1)),
    ("last year", d(1, 1, 2025), d(1, 1)),
    ("9月", d(9, 1), d(10, 1)),
    ("九月份", d(9, 1), d(10, 1)),
    ("2025年12月", d(12, 1, 2025), d(1, 1)),
    ("in september", d(9, 1), d(10, 1)),
    ("december", d(12, 1, 2025), d(1, 1)),  # no December yet this year: last year's
    ("october 2025", d(10, 1, 2025), d(11, 1, 2025)),
    ("2025年", d(1, 1, 2025), d(1, 1)),
    ("in 2025", d(1, 1, 2025), d(1, 1)),
    # explicit dates and ranges (end date included)
    ("2026-11-03", d(11, 3), d(11, 4)),
    ("2026/11/03", d(11, 3), d(11, 4)),
    ("11月3日", d(11, 3), d(11, 4)),
    ("11月3号", d(11, 3), d(11, 4)),
    ("2026年11月3日", d(11, 3), d(11, 4)),
    ("二〇二六年十一月三日", d(11, 3), d(11, 4)),
    ("nov 3", d(11, 3), d(11, 4)),
    ("on November 3rd", d(11, 3), d(11, 4)),
    ("3 nov 2026", d(11, 3), d(11, 4)),
    ("12月25日", d(12, 25, 2025), d(12, 26, 2025)),  # not yet this year
    ("11月1日到11月7日", d(11, 1), d(11, 8)),
    ("十一月一日到十一月七日", d(11, 1), d(11, 8)),
    ("11月1日至7日", d(11, 1), d(11, 8)),
    ("11月1日-11月7日", d(11, 1), d(11, 8)),
    ("12月28日到1月3日", d(12, 28, 2025), d(1, 4)),
    ("from nov 1 to nov 7", d(11, 1), d(11, 8)),
    ("november 1-7", d(11, 1), d(11, 8)),
    ("between 2026-11-01 and 2026-11-07", d(11, 1), d(11, 8)),
    ("2026-11-01 to 2026-11-07", d(11, 1), d(11, 8)),
    # since …: up to the end of today
    ("since monday", d(11, 23), d(11, 26)),
    ("since Friday", d(11, 20), d(11, 26)),
    ("since wednesday", d(11, 25), d(11, 26)),
    ("周一以来", d(11, 23), d(11, 26)),
    ("从星期五开始", d(11, 20), d(11, 26)),
    ("本周一以来", d(11, 23), d(11, 26)),
    ("since nov 20", d(11, 20), d(11, 26)),
    ("自11月20日以来", d(11, 20), d(11, 26)),
    ("since yesterday", d(11, 24), d(11, 26)),
    # weekdays
    ("上周三", d(11, 18), d(11, 19)),
    ("周一", d(11, 23), d(11, 24)),
    ("on friday", d(11, 20), d(11, 21)),
    ("last monday", d(11, 23), d(11, 24)),
    # the marketplaces' sale days: the latest not after today (11-25)
    ("双十一", d(11, 11), d(11, 12)),
    ("双11那天", d(11, 11), d(11, 12)),
    ("双十二", d(12, 12, 2025), d(12, 13, 2025)),
    ("双十一大促期间", d(11, 11), d(11, 12)),
    ("11.11", d(11, 11), d(11, 12)),
    ("on 10.10", d(10, 10), d(10, 11)),
    ("12.12当天", d(12, 12, 2025), d(12, 13, 2025)),
    ("9.9 sale", d(9, 9), d(9, 10)),
    ("8.8大促", d(8, 8), d(8, 9)),
    ("singles day", d(11, 11), d(11, 12)),
    ("double twelve", d(12, 12, 2025), d(12, 13, 2025)),
    # quarters (calendar; without a year the latest begun by today), weekends, and more
    ("本季度", d(10, 1), d(1, 1, 2027)),
    ("this quarter", d(10, 1), d(1, 1, 2027)),
    ("上个季度", d(7, 1), d(10, 1)),
    ("last quarter", d(7, 1), d(10, 1)),
    ("第三季度", d(7, 1), d(10, 1)),
    ("q3", d(7, 1), d(10, 1)),
    ("2025年第四季度", d(10, 1, 2025), d(1, 1)),
    ("q1 2026", d(1, 1), d(4, 1)),
    ("周末", d(11, 21), d(11, 23)),
    ("上周末", d(11, 21), d(11, 23)),
    ("this weekend", d(11, 28), d(11, 30)),
    ("last weekend", d(11, 21), d(11, 23)),
    ("上上周", d(11, 9), d(11, 16)),
    ("the week before last", d(11, 9), d(11, 16)),
    ("上上个月", d(9, 1), d(10, 1)),
    ("这两天", d(11, 24), d(11, 26)),
    ("明天", d(11, 26), d(11, 27)),
    ("tomorrow", d(11, 26), d(11, 27)),
    # alone, "the same day" is today that long before, up to the same moment
    ("上周同期", d(11, 18), d(11, 18, hour=15, minute=30)),
    ("same day last week", d(11, 18), d(11, 18, hour=15, minute=30)),
    ("上月同期", d(10, 25), d(10, 25, hour=15, minute=30)),
    ("去年同期", d(11, 25, 2025), d(11, 25, 2025, hour=15, minute=30)),
]


def resolved(phrase: str) -> list[TimeRange]:
    return [m.range for m in find_time_ranges(normalise(phrase), NOW, KL)]


@pytest.mark.parametrize(("phrase", "start", "end"), TABLE, ids=[row[0] for row in TABLE])
def test_phrase_resolves_to_its_range(phrase: str, start: datetime, end: datetime) -> None:
    ranges = resolved(phrase)
    assert len(ranges) == 1, ranges
    assert (ranges[0].start, ranges[0].end) == (start, end)
    assert ranges[0].start.utcoffset() == timedelta(hours=8)


def test_the_table_covers_both_languages() -> None:
    chinese = [p for p, _, _ in TABLE if any("\u4e00" <= ch <= "\u9fff" for ch in p)]
    assert len(chinese) >= 40
    assert len(TABLE) - len(chinese) >= 40


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30",
        "13月1日",
        "2月31日",
        "last 0 days",
        "the weather",
        "最近的订单",
        # amounts, not sale days
        "over 11.11",
        "超过 12.12",
        "sale above rm 10.10",
        "9.9",
        "11.12",
    ],
)
def test_words_that_name_no_period_resolve_to_nothing(text: str) -> None:
    assert resolved(text) == []


def test_two_periods_in_one_question_are_found_in_order() -> None:
    ranges = resolved("本周和上周的销售额对比")
    assert [(r.start, r.end) for r in ranges] == [(d(11, 23), d(11, 30)), (d(11, 16), d(11, 23))]
    ranges = resolved("yesterday vs the day before yesterday")
    assert [r.start for r in ranges] == [d(11, 24), d(11, 23)]


def test_the_period_before_follows_the_calendar() -> None:
    (week,) = resolved("this week")
    (month,) = resolved("this month")
    (march,) = [m.range for m in find_time_ranges("2026年3月", NOW, KL)]
    (days,) = resolved("last 7 days")
    (today,) = resolved("today")
    assert (previous_period(week).start, previous_period(week).end) == (d(11, 16), d(11, 23))
    assert (previous_period(month).start, previous_period(month).end) == (d(10, 1), d(11, 1))
    assert (previous_period(march).start, previous_period(march).end) == (d(2, 1), d(3, 1))
    assert (previous_period(days).start, previous_period(days).end) == (d(11, 12), d(11, 19))
    assert (previous_period(today).start, previous_period(today).end) == (d(11, 24), d(11, 25))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("最近七天", "最近7天"),
        ("过去二十四小时", "过去24小时"),
        ("前十名", "前10名"),
        ("排名前三", "排名前3"),
        ("十一月一日", "11月1日"),
        ("最高的三个商家", "最高的3个商家"),
        ("统计一下", "统计一下"),  # not a count
        ("星期一", "星期一"),  # a weekday, not a number
        ("上一个月", "上一个月"),
        ("top five offers", "top 5 offers"),
        ("last thirty days", "last 30 days"),
    ],
)
def test_numerals_become_digits_only_where_they_count(text: str, expected: str) -> None:
    assert digits_for_numerals(text) == expected


def test_a_timezone_west_of_utc_shifts_the_day() -> None:
    new_york = ZoneInfo("America/New_York")
    (today,) = [m.range for m in find_time_ranges("today", NOW, new_york)]
    # 15:30 in Kuala Lumpur is 02:30 the same day in New York.
    assert today.start == datetime(2026, 11, 25, tzinfo=new_york)
    assert today.end == datetime(2026, 11, 26, tzinfo=new_york)
