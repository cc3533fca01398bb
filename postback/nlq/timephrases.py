"""Time phrases in Chinese and English, resolved to half-open [start, end) ranges in the
reporting timezone.

The text given here is already normalised by the lexer (lower case, half-width characters,
Chinese numerals written as digits: see `digits_for_numerals`). Calendar phrases cover whole
periods ("this week" is Monday 00:00 to next Monday 00:00); "last N days" is the N calendar
days ending today; "past N hours" is the N hours ending now.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import cn2an

from postback.nlq.plan import TimeMatch, TimeRange

T = TypeVar("T")

# ---------------------------------------------------------------------------- numerals

_CN_DIGITS = "零〇一二两三四五六七八九十百千"
_CN_UNIT_AFTER = r"(?=\s*个?\s*(?:天|日|号|小时|钟头|周|星期|礼拜|月|年|名|位|条|笔|单|家|个|项))"
_CN_NUMBER = re.compile(
    rf"(?:(?<=前)|(?<=后)|(?<=近)|(?<=top))[{_CN_DIGITS}]+"
    rf"|(?<![每这上本第周期拜])[{_CN_DIGITS}]+{_CN_UNIT_AFTER}"
)
_EN_NUMBERS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "sixty": 60,
    "ninety": 90,
}
_EN_NUMBER = re.compile(r"\b(" + "|".join(_EN_NUMBERS) + r")\b")
_EN_ONE = re.compile(r"\b(?:one)\b(?=\s+(?:day|hour|week|month|year)s?\b)")


def digits_for_numerals(text: str) -> str:
    """Chinese numerals that count something ("最近七天", "前十名", "十一月一日") and English
    number words ("last seven days", "top five") written as digits. The text keeps its
    length only where nothing is replaced, so callers normalise before finding spans."""

    def chinese(match: re.Match[str]) -> str:
        try:
            return str(int(cn2an.cn2an(match.group(0), "smart")))
        except (ValueError, KeyError, TypeError):
            return match.group(0)

    text = _CN_NUMBER.sub(chinese, text)
    text = _EN_NUMBER.sub(lambda m: str(_EN_NUMBERS[m.group(1)]), text)
    return _EN_ONE.sub("1", text)


# ---------------------------------------------------------------------------- ranges


@dataclass(frozen=True, slots=True)
class _Clock:
    now: datetime
    zone: ZoneInfo

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def at(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.zone)

    def days(self, first: date, last: date, kind: str, phrase: str) -> TimeRange:
        """Whole days from `first` to `last`, both included."""
        if last < first:
            raise ValueError("the range ends before it starts")
        return TimeRange(self.at(first), self.at(last + timedelta(days=1)), kind, phrase)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = _month_length(year, month)
    return date(year, month, min(day.day, last))


def _month_length(year: int, month: int) -> int:
    following = date(year + (month == 12), month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _month_range(clock: _Clock, year: int, month: int, phrase: str) -> TimeRange:
    first = date(year, month, 1)
    return TimeRange(clock.at(first), clock.at(_add_months(first, 1)), "month", phrase)


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
CN_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
for _digit in range(1, 8):
    CN_WEEKDAYS[str(_digit)] = _digit - 1

_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY_NAMES = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_FULL_WEEKDAYS = "|".join(name for name in WEEKDAYS if name.endswith("day"))
_ORD = r"(?:st|nd|rd|th)?"
_DATE = (
    r"(?:(?<!\d)\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d)"
    r"|(?<!\d)(?:\d{4}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*[日号](?!\d)"
    rf"|\b(?:{_MONTH_NAMES})\.?\s+\d{{1,2}}{_ORD}(?:,?\s*\d{{4}})?\b"
    rf"|(?<!\d)\d{{1,2}}{_ORD}\s+(?:{_MONTH_NAMES})\b\.?(?:,?\s*\d{{4}})?)"
)
_DAY_ONLY = r"(?<!\d)\d{1,2}(?:\s*[日号]|st|nd|rd|th)?(?!\d)"
_CN_WEEKDAY = r"(?:周|星期|礼拜)(?:[1-7二三四五六日天]|一(?!共))"  # not "本周一共"


def _parse_date(text: str, clock: _Clock, *, year_hint: int | None = None) -> date:
    """One date as written in `_DATE`; without a year, the latest such date not after today."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text):
        return date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.fullmatch(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]", text):
        year = int(m[1]) if m[1] else None
        return _dated(clock, year or year_hint, int(m[2]), int(m[3]))
    if m := re.fullmatch(rf"([a-z]+)\.?\s+(\d{{1,2}}){_ORD},?\s*(\d{{4}})?", text):
        year = int(m[3]) if m[3] else None
        return _dated(clock, year or year_hint, MONTHS[m[1]], int(m[2]))
    if m := re.fullmatch(rf"(\d{{1,2}}){_ORD}\s+([a-z]+)\.?,?\s*(\d{{4}})?", text):
        year = int(m[3]) if m[3] else None
        return _dated(clock, year or year_hint, MONTHS[m[2]], int(m[1]))
    raise ValueError(f"not a date: {text!r}")


def _dated(clock: _Clock, year: int | None, month: int, day: int) -> date:
    if year is not None:
        return date(year, month, day)
    candidate = date(clock.today.year, month, day)
    if candidate > clock.today:
        candidate = date(clock.today.year - 1, month, day)
    return candidate


def _weekday_on_or_before(day: date, weekday: int) -> date:
    return day - timedelta(days=(day.weekday() - weekday) % 7)


# Each resolver gets the match and the clock and returns the range (or raises ValueError
# when the words look like a time but name none, e.g. "2026-02-30").
Resolver = Callable[[re.Match[str], _Clock], TimeRange]


def _today(m: re.Match[str], c: _Clock) -> TimeRange:
    return c.days(c.today, c.today, "day", m[0])


def _days_ago(n: int) -> Resolver:
    def resolve(m: re.Match[str], c: _Clock) -> TimeRange:
        day = c.today - timedelta(days=n)
        return c.days(day, day, "day", m[0])

    return resolve


def _n_days_ago(m: re.Match[str], c: _Clock) -> TimeRange:
    day = c.today - timedelta(days=int(m["n"]))
    return c.days(day, day, "day", m[0])


def _week(offset: int) -> Resolver:
    def resolve(m: re.Match[str], c: _Clock) -> TimeRange:
        first = _week_start(c.today) + timedelta(weeks=offset)
        return c.days(first, first + timedelta(days=6), "week", m[0])

    return resolve


def _month(offset: int) -> Resolver:
    def resolve(m: re.Match[str], c: _Clock) -> TimeRange:
        first = _add_months(c.today.replace(day=1), offset)
        return _month_range(c, first.year, first.month, m[0])

    return resolve


def _quarter_range(c: _Clock, year: int, quarter: int, phrase: str) -> TimeRange:
    first = date(year, 3 * (quarter - 1) + 1, 1)
    return TimeRange(c.at(first), c.at(_add_months(first, 3)), "quarter", phrase)


def _quarter(offset: int) -> Resolver:
    """This quarter (0), the one before (-1): calendar quarters."""

    def resolve(m: re.Match[str], c: _Clock) -> TimeRange:
        index = c.today.year * 4 + (c.today.month - 1) // 3 + offset
        return _quarter_range(c, index // 4, index % 4 + 1, m[0])

    return resolve


_QUARTER_NUMBERS = {"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4}


def _named_quarter(m: re.Match[str], c: _Clock) -> TimeRange:
    """ "Q3", "第三季度", "2025 Q4": without a year, the latest such quarter begun by today."""
    quarter = _QUARTER_NUMBERS[m["q"]]
    year = int(m["y"]) if m["y"] else c.today.year
    if not m["y"] and date(year, 3 * (quarter - 1) + 1, 1) > c.today:
        year -= 1
    if not 2000 <= year <= 2100:
        raise ValueError("year out of range")
    return _quarter_range(c, year, quarter, m[0])


def _weekend(m: re.Match[str], c: _Clock) -> TimeRange:
    """Saturday and Sunday: of this week ("this weekend", "这个周末"), of the week before
    ("last weekend", "上周末"), or the latest begun by today ("周末", "the weekend")."""
    which = (m["which"] or "").strip()
    this_saturday = _week_start(c.today) + timedelta(days=5)
    if which in ("this", "这", "这个", "本"):
        saturday = this_saturday
    elif which in ("last", "上", "上个", "past", "the past", "previous"):
        saturday = this_saturday - timedelta(weeks=1)
    else:
        saturday = this_saturday if c.today >= this_saturday else this_saturday - timedelta(weeks=1)
    return c.days(saturday, saturday + timedelta(days=1), "weekend", m[0])


def _year(offset: int) -> Resolver:
    def resolve(m: re.Match[str], c: _Clock) -> TimeRange:
        year = c.today.year + offset
        return TimeRange(c.at(date(year, 1, 1)), c.at(date(year + 1, 1, 1)), "year", m[0])

    return resolve


_UNITS = {
    "day": "day",
    "days": "day",
    "天": "day",
    "日": "day",
    "hour": "hour",
    "hours": "hour",
    "hr": "hour",
    "hrs": "hour",
    "h": "hour",
    "小时": "hour",
    "个小时": "hour",
    "钟头": "hour",
    "个钟头": "hour",
    "minute": "minute",
    "minutes": "minute",
    "mins": "minute",
    "min": "minute",
    "分钟": "minute",
    "week": "week",
    "weeks": "week",
    "周": "week",
    "个星期": "week",
    "星期": "week",
    "个礼拜": "week",
    "礼拜": "week",
    "month": "month",
    "months": "month",
    "个月": "month",
}


def _last_n(m: re.Match[str], c: _Clock) -> TimeRange:
    """The last N units ending now: whole days (today included) for days, weeks and months;
    exact hours and minutes back from now."""
    n = int(m["n"]) if m["n"] else 1
    if n < 1 or n > 5000:
        raise ValueError("out of range")
    unit = _UNITS[m["unit"].strip()]
    if unit in ("hour", "minute"):
        delta = timedelta(hours=n) if unit == "hour" else timedelta(minutes=n)
        return TimeRange(
            c.now.astimezone(c.zone) - delta, c.now.astimezone(c.zone), "rolling", m[0]
        )
    if unit == "day":
        first = c.today - timedelta(days=n - 1)
    elif unit == "week":
        first = c.today - timedelta(days=7 * n - 1)
    else:
        first = _add_months(c.today, -n) + timedelta(days=1)
    return c.days(first, c.today, "rolling", m[0])


# The marketplaces' sale days: month and day the same ("11.11", "双十一", "singles' day").
_SALE_MONTHS = {"十一": 11, "十二": 12, "eleven": 11, "twelve": 12, "11": 11, "12": 12}
# Words before a number that make it an amount ("over 11.11"), not a sale day.
_AMOUNT_BEFORE = re.compile(
    r"(?:over|above|below|under|more than|less than|at least|at most|>|<|=|超过|大于|小于|低于|高于"
    r"|不少于|不超过|rm|usd|myr|\$)\s*$"
)


def _sale_day(m: re.Match[str], c: _Clock) -> TimeRange:
    """The sale day named (the latest not after today): "9.9", "11.11", "双十二", "singles
    day"; a number written as an amount ("over 11.11") is none."""
    named = m.groupdict()
    if named.get("word"):
        month = _SALE_MONTHS[named["word"]]
    elif named.get("single"):
        month = 11
    else:
        if _AMOUNT_BEFORE.search(m.string[: m.start()]):
            raise ValueError("an amount, not a sale day")
        month = int(named.get("d") or named["d2"])
    day = _dated(c, None, month, month)
    return c.days(day, day, "day", m[0])


def _last_two_days(m: re.Match[str], c: _Clock) -> TimeRange:
    """ "这两天": yesterday and today."""
    return c.days(c.today - timedelta(days=1), c.today, "rolling", m[0])


# "上周同期", "same day last week": the period compared with, that long before.
SAME_AS = {"same_week": "week", "same_month": "month", "same_year": "year"}


def _same_as(kind: str) -> Resolver:
    """Alone, today that long before; beside another period, that period moved back
    (`earlier_alike`)."""

    def resolve(m: re.Match[str], c: _Clock) -> TimeRange:
        today = c.days(c.today, c.today, "day", m[0])
        moved = earlier_alike(today, kind, c.now)
        return TimeRange(moved.start, moved.end, kind, m[0])

    return resolve


def _moved_back(moment: datetime, unit: str) -> datetime:
    local = moment.replace(tzinfo=None)
    if unit == "week":
        earlier = local - timedelta(weeks=1)
    elif unit == "month":
        day = _add_months(local.date(), -1)
        earlier = datetime.combine(day, local.time())
    else:
        year = local.year - 1
        earlier = local.replace(year=year, day=min(local.day, _month_length(year, local.month)))
    return earlier.replace(tzinfo=moment.tzinfo)


def earlier_alike(period: TimeRange, kind: str, now: datetime) -> TimeRange:
    """The same stretch of `period` a week, month or year before (`kind` is one of
    SAME_AS), up to the same moment when `period` is still running: this week so far
    against last week until the same hour."""
    unit = SAME_AS[kind]
    zone = period.start.tzinfo
    end = min(period.end, now.astimezone(zone)) if now < period.end else period.end
    start = _moved_back(period.start, unit)
    return TimeRange(start, _moved_back(end, unit), kind, "")


def _one_date(m: re.Match[str], c: _Clock) -> TimeRange:
    day = _parse_date(m["a"], c)
    return c.days(day, day, "day", m[0])


def _date_range(m: re.Match[str], c: _Clock) -> TimeRange:
    first = _parse_date(m["a"], c)
    second = m["b"].strip()
    if re.fullmatch(_DAY_ONLY, second):
        last = first.replace(day=int(re.sub(r"\D", "", second)))
    else:
        last = _parse_date(second, c, year_hint=first.year)
    if last < first and not re.search(r"\d{4}", m["b"]):
        # "12月28日到1月3日": the second date is in the year after the first.
        last = last.replace(year=last.year + 1)
    return c.days(first, last, "range", m[0])


def _since_date(m: re.Match[str], c: _Clock) -> TimeRange:
    first = _parse_date(m["a"], c)
    return c.days(first, c.today, "range", m[0])


def _since_weekday(m: re.Match[str], c: _Clock) -> TimeRange:
    name = m["w"]
    weekday = WEEKDAYS[name] if name in WEEKDAYS else CN_WEEKDAYS[name[-1]]
    first = _weekday_on_or_before(c.today, weekday)
    return c.days(first, c.today, "range", m[0])


def _since_yesterday(m: re.Match[str], c: _Clock) -> TimeRange:
    return c.days(c.today - timedelta(days=1), c.today, "range", m[0])


def _weekday(m: re.Match[str], c: _Clock) -> TimeRange:
    """周三 / on wednesday: the latest such day up to today; last wednesday: the latest before
    today; 上周三 / 本周三 / this wednesday: in that week."""
    name = m["w"]
    weekday = WEEKDAYS[name] if name in WEEKDAYS else CN_WEEKDAYS[name[-1]]
    which = m["which"] or ""
    if which == "上":
        day = _week_start(c.today) - timedelta(weeks=1) + timedelta(days=weekday)
    elif which == "last":
        day = _weekday_on_or_before(c.today - timedelta(days=1), weekday)
    elif which in ("本", "这", "this"):
        day = _week_start(c.today) + timedelta(days=weekday)
    else:
        day = _weekday_on_or_before(c.today, weekday)
    return c.days(day, day, "day", m[0])


def _named_month(m: re.Match[str], c: _Clock) -> TimeRange:
    month = MONTHS[m["m"]] if m["m"] in MONTHS else int(m["m"])
    if not 1 <= month <= 12:
        raise ValueError("no such month")
    latest = c.today.year if month <= c.today.month else c.today.year - 1
    year = int(m["y"]) if m["y"] else latest
    return _month_range(c, year, month, m[0])


def _named_year(m: re.Match[str], c: _Clock) -> TimeRange:
    year = int(m["y"])
    if not 2000 <= year <= 2100:
        raise ValueError("year out of range")
    return TimeRange(c.at(date(year, 1, 1)), c.at(date(year + 1, 1, 1)), "year", m[0])


_RANGE_SEPARATOR = r"\s*(?:to|until|till|through|thru|-|–|—|~|到|至)\s*"
_EN_LAST_UNIT = r"(?P<unit>days?|hours?|hrs?|h|minutes?|mins?|weeks?|months?)\b"
_CN_LAST_UNIT = r"(?P<unit>天|日|个小时|小时|个钟头|钟头|分钟|周|个星期|星期|个礼拜|礼拜|个月)"

PATTERNS: list[tuple[re.Pattern[str], Resolver]] = [
    (re.compile(p), r)
    for p, r in [
        # English
        (r"\btoday\b", _today),
        (r"\byesterday\b", _days_ago(1)),
        (r"\btomorrow\b", _days_ago(-1)),
        (r"\b(?:the\s+)?day\s+before\s+yesterday\b", _days_ago(2)),
        (r"\b(?P<n>\d{1,4})\s+days?\s+ago\b", _n_days_ago),
        (r"\b(?:this|current)\s+week\b|\bweek\s+to\s+date\b|\bwtd\b", _week(0)),
        (
            r"\b(?:the\s+)?same\s+(?:day|period|time)\s+(?:of\s+)?last\s+week\b",
            _same_as("same_week"),
        ),
        (
            r"\b(?:the\s+)?same\s+(?:day|period|time)\s+(?:of\s+)?last\s+month\b",
            _same_as("same_month"),
        ),
        (
            r"\b(?:the\s+)?same\s+(?:day|period|time)\s+(?:of\s+)?last\s+year\b",
            _same_as("same_year"),
        ),
        (r"\b(?:the\s+)?week\s+before\s+last\b", _week(-2)),
        (r"\b(?:the\s+)?month\s+before\s+last\b", _month(-2)),
        (r"\b(?:last|previous|prior)\s+week\b", _week(-1)),
        (r"\b(?:this|current)\s+month\b|\bmonth\s+to\s+date\b|\bmtd\b", _month(0)),
        (r"\b(?:last|previous|prior)\s+month\b", _month(-1)),
        (r"\b(?:this|current)\s+year\b|\byear\s+to\s+date\b|\bytd\b", _year(0)),
        (r"\b(?:last|previous|prior)\s+year\b", _year(-1)),
        (r"\b(?:this|current)\s+quarter\b|\bquarter\s+to\s+date\b|\bqtd\b", _quarter(0)),
        (r"\b(?:last|previous|prior)\s+quarter\b", _quarter(-1)),
        (r"\b(?:in\s+)?q(?P<q>[1-4])(?:\s+(?P<y>\d{4}))?\b", _named_quarter),
        (r"\b(?:in\s+)?(?P<y>\d{4})\s*q(?P<q>[1-4])\b", _named_quarter),
        (
            r"\b(?:(?:on|over|during)\s+)?(?:(?P<which>last|this|the past|previous)\s+|the\s+)?"
            r"weekend\b",
            _weekend,
        ),
        (
            rf"\b(?:in\s+|over\s+|during\s+|for\s+)?(?:the\s+)?(?:last|past|previous|prior|recent)"
            rf"\s+(?P<n>\d{{1,4}})\s*{_EN_LAST_UNIT}",
            _last_n,
        ),
        (
            r"\b(?:in\s+|over\s+|during\s+)?(?:the\s+)?past\s+(?P<n>)(?P<unit>day|hour|week|month)\b",
            _last_n,
        ),
        (r"\b(?:in\s+|over\s+|during\s+)?(?:the\s+)?last\s+(?P<n>)(?P<unit>hour)\b", _last_n),
        (rf"\b(?:on\s+)?(?:(?P<which>last|this)\s+)?(?P<w>{_FULL_WEEKDAYS})\b", _weekday),
        (rf"\bsince\s+(?:last\s+)?(?P<w>{_WEEKDAY_NAMES})\b", _since_weekday),
        (r"\bsince\s+yesterday\b", _since_yesterday),
        (
            rf"\b(?:since|from)\s+(?P<a>{_DATE})(?!\s*(?:to|until|till|through|thru|-|–|~))",
            _since_date,
        ),
        (rf"(?:\bon\s+)?(?P<a>{_DATE})", _one_date),
        (
            rf"(?:\bfrom\s+|\bbetween\s+)?(?P<a>{_DATE}){_RANGE_SEPARATOR}(?P<b>{_DATE}|{_DAY_ONLY})",
            _date_range,
        ),
        (rf"\bbetween\s+(?P<a>{_DATE})\s+and\s+(?P<b>{_DATE}|{_DAY_ONLY})", _date_range),
        (
            r"\b(?:in\s+|during\s+|for\s+)?(?P<m>january|february|march|april|june|july|august"
            r"|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov"
            r"|dec)\b(?:\s+(?P<y>\d{4}))?(?!\s*\d)",
            _named_month,
        ),
        (r"\bmay\s+(?P<y>\d{4})\b(?P<m>)", lambda m, c: _named_month_may(m, c)),
        # Sale days: "11.11", "10.10", "12.12" alone; "9.9" and the rest beside a sale word.
        (
            r"(?:\b(?:on|during)\s+)?(?<![\d.$])(?:(?P<d>1[0-2])\.(?P=d)(?![\d.])"
            r"|(?P<d2>[1-9]|1[0-2])\.(?P=d2)(?=\s*(?:sale|campaign|day\b|大促|促销|活动|当天|那天|期间)))"
            r"(?:\s*(?:sale\b|campaign\b|day\b|大促|促销|活动)(?!\s*(?:amount|value|金额|额)))?"
            r"(?:\s*(?:当天|那天|那一天|期间))?",
            _sale_day,
        ),
        (
            r"\b(?:on\s+)?double\s+(?P<word>eleven|twelve|11|12)\b",
            _sale_day,
        ),
        (r"\b(?:on\s+)?(?P<single>singles'?\s*day)\b", _sale_day),
        (r"\b(?:in|during)\s+(?P<y>\d{4})\b", _named_year),
        # Chinese
        (
            r"双\s*(?P<word>十一|十二|11|12)(?:\s*(?:大促|促销|活动))?(?:\s*(?:当天|那天|那一天|期间))?",
            _sale_day,
        ),
        (r"今天|今日|当天", _today),
        (r"昨天|昨日", _days_ago(1)),
        (r"明天|明日", _days_ago(-1)),
        (r"前天", _days_ago(2)),
        (r"大前天", _days_ago(3)),
        (r"(?P<n>\d{1,4})\s*天前", _n_days_ago),
        (r"上周同期|上周同一天|上周同日|上个星期同一天|上星期同一天", _same_as("same_week")),
        (r"上月同期|上个月同期|上月同一天|上个月同一天", _same_as("same_month")),
        (r"去年同期|去年同一天|去年同日", _same_as("same_year")),
        (r"上上周|上上个星期|上上星期|上上个礼拜|上上礼拜", _week(-2)),
        (r"上上个月|上上月", _month(-2)),
        (r"(?P<which>上个|上|这个|这|本)?\s*周末", _weekend),
        (r"本季度|这个季度|这季度|本季|当季|当前季度", _quarter(0)),
        (r"上季度|上个季度|上一季度|上一个季度|上季", _quarter(-1)),
        (r"(?:(?P<y>\d{4})\s*年\s*)?(?:第\s*)?(?P<q>[1-4一二三四])\s*季度", _named_quarter),
        (r"这\s*(?:两|2)\s*天", _last_two_days),
        (r"本周|这周|这一周|这个星期|这星期|本星期|本礼拜|这礼拜|这个礼拜", _week(0)),
        (r"上周|上一周|上个星期|上星期|上礼拜|上个礼拜|上一个星期", _week(-1)),
        (r"本月|这个月|这月|当月|本月份", _month(0)),
        (r"上个月|上月|上一个月|上个月份", _month(-1)),
        (r"今年|本年|今年以来|年初至今", _year(0)),
        (r"去年|上一年|上年", _year(-1)),
        (rf"(?:最近|过去|近|前)\s*(?P<n>\d{{1,4}})\s*{_CN_LAST_UNIT}(?:以来|之内|内|里)?", _last_n),
        (r"(?P<n>\d{1,4})\s*(?P<unit>个小时|小时|天|日)\s*(?:以来|之内|内)", _last_n),
        (
            rf"(?P<which>上|本|这)?(?P<w>{_CN_WEEKDAY})(?!\s*(?:以来|开始|起|至今))",
            _weekday,
        ),
        (
            rf"(?:自|从)?\s*(?:本|这)?\s*(?P<w>{_CN_WEEKDAY})\s*(?:以来|开始|起|至今|到现在|到今天)",
            _since_weekday,
        ),
        (rf"(?:自|从)?\s*(?P<a>{_DATE})\s*(?:以来|开始|起|至今|到现在|到今天)", _since_date),
        (r"(?:自|从)?\s*昨天\s*(?:以来|开始|起|至今|到现在)", _since_yesterday),
        (r"(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2})\s*月份?(?!\s*\d)", _named_month),
        (r"(?P<y>\d{4})\s*年(?!\s*\d)", _named_year),
    ]
]


def _named_month_may(m: re.Match[str], c: _Clock) -> TimeRange:
    return _month_range(c, int(m["y"]), 5, m[0])


def find_time_ranges(text: str, now: datetime, zone: ZoneInfo) -> list[TimeMatch]:
    """Every time phrase in `text` (normalised), longest first where phrases overlap, in the
    order they appear. Phrases that look like dates but are none ("2月30日") are skipped."""
    clock = _Clock(now, zone)
    found: list[TimeMatch] = []
    for pattern, resolve in PATTERNS:
        for match in pattern.finditer(text):
            if match.end() == match.start():
                continue
            try:
                resolved = resolve(match, clock)
            except (ValueError, KeyError, OverflowError):
                continue
            start, end = match.span()
            # Leading/trailing spaces are not part of the phrase.
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            found.append(TimeMatch((start, end), replace(resolved, phrase=text[start:end])))
    return longest_apart(found, lambda m: m.span)


def longest_apart(found: Iterable[T], span: Callable[[T], tuple[int, int]]) -> list[T]:
    """Where phrases overlap, the longest (then the first) wins; in the order they appear."""
    chosen: list[T] = []
    for item in sorted(found, key=lambda i: (span(i)[0] - span(i)[1], span(i)[0])):
        start, end = span(item)
        if all(end <= span(c)[0] or start >= span(c)[1] for c in chosen):
            chosen.append(item)
    return sorted(chosen, key=lambda i: span(i)[0])


def previous_period(period: TimeRange) -> TimeRange:
    """The period just before: the day, week, month or year before, or the same length."""
    zone = period.start.tzinfo
    assert isinstance(zone, ZoneInfo)
    clock = _Clock(period.start, zone)
    first = period.start.date()
    if period.kind == "day":
        before = first - timedelta(days=1)
        return clock.days(before, before, "day", "")
    if period.kind == "week":
        before = first - timedelta(weeks=1)
        return clock.days(before, before + timedelta(days=6), "week", "")
    if period.kind == "month":
        before = _add_months(first, -1)
        return _month_range(clock, before.year, before.month, "")
    if period.kind == "quarter":
        before = _add_months(first, -3)
        return TimeRange(clock.at(before), clock.at(first), "quarter", "")
    if period.kind == "weekend":
        before = first - timedelta(weeks=1)
        return clock.days(before, before + timedelta(days=1), "weekend", "")
    if period.kind == "year":
        return TimeRange(
            clock.at(date(first.year - 1, 1, 1)), clock.at(date(first.year, 1, 1)), "year", ""
        )
    length = period.end - period.start
    return TimeRange(period.start - length, period.start, "rolling", "")
