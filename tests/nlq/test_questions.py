"""The question set: Chinese and English questions over the generated dataset, each with
its expected answer computed here from the dataset's rows (plain Python over `Row`s, with
the periods written out as dates), never by the engine's code or SQL. Prints the score;
fails below 95 %."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg
import pytest

from postback.app import PostbackApp
from postback.auth import ADMIN
from postback.nlq import service
from postback.nlq.plan import CannotAnswer
from postback.rollups import service as compaction
from tests.nlq.dataset import NOW, ZONE, Dataset, Row, generate, load

DATA: Dataset = generate()
FIRST = DATA.first_rows
CENT = Decimal("0.01")
PASS_MARK = 0.95

Period = tuple[datetime, datetime]


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, tzinfo=ZONE)


TODAY: Period = (at(11, 25), at(11, 26))
YESTERDAY: Period = (at(11, 24), at(11, 25))
DAY_BEFORE: Period = (at(11, 23), at(11, 24))
THIS_WEEK: Period = (at(11, 23), at(11, 30))
LAST_WEEK: Period = (at(11, 16), at(11, 23))
WEEK_BEFORE_LAST: Period = (at(11, 9), at(11, 16))
LAST_7_DAYS: Period = (at(11, 19), at(11, 26))
LAST_14_DAYS: Period = (at(11, 12), at(11, 26))
LAST_30_DAYS: Period = (at(10, 27), at(11, 26))
PAST_24_HOURS: Period = (NOW - timedelta(hours=24), NOW)
PAST_6_HOURS: Period = (NOW - timedelta(hours=6), NOW)
THIS_MONTH: Period = (at(11, 1), at(12, 1))
LAST_MONTH: Period = (at(10, 1), at(11, 1))
SEPTEMBER: Period = (at(9, 1), at(10, 1))
THIS_YEAR: Period = (at(1, 1), at(1, 1, 2027))
LAST_YEAR: Period = (at(1, 1, 2025), at(1, 1))
NOV_1_TO_7: Period = (at(11, 1), at(11, 8))
NOV_10_TO_15: Period = (at(11, 10), at(11, 16))
SINCE_MONDAY: Period = (at(11, 23), at(11, 26))
NOV_3: Period = (at(11, 3), at(11, 4))
NOV_11: Period = (at(11, 11), at(11, 12))
LAST_3_MONTHS: Period = (at(8, 26), at(11, 26))
ALL: Period = (at(1, 1, 2000), at(1, 1, 2100))

MONEY = {
    ("sales", "myr"): "sale_myr",
    ("sales", "usd"): "sale_usd",
    ("sales", "local"): "sale_local",
    ("payout", "myr"): "payout_myr",
    ("payout", "usd"): "payout_usd",
    ("payout", "local"): "payout_local",
}


# ---------------------------------------------------------------------------- the oracle


def pick(
    period: Period = ALL,
    *,
    rows: list[Row] | None = None,
    offers: Iterable[str] | None = None,
    partner: str | None = None,
    status: str | None = None,
    currency: str | None = None,
    where: Callable[[Row], bool] | None = None,
) -> list[Row]:
    chosen = []
    wanted = set(offers) if offers is not None else None
    for r in FIRST if rows is None else rows:
        if not period[0] <= r.occurred_at < period[1]:
            continue
        if wanted is not None and r.offer_name not in wanted:
            continue
        if partner is not None and r.partner != partner:
            continue
        if status is not None and r.status != status:
            continue
        if currency is not None and r.currency != currency:
            continue
        if where is not None and not where(r):
            continue
        chosen.append(r)
    return chosen


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def value(rows: list[Row], metric: str, unit: str = "myr") -> Any:
    if metric in ("conversions", "duplicates"):
        return len(rows)
    if metric in ("sales", "payout"):
        return cents(sum((getattr(r, MONEY[(metric, unit)]) for r in rows), Decimal(0)))
    if metric in ("aov", "avg_payout"):
        if not rows:
            return None
        column = MONEY[("sales" if metric == "aov" else "payout", unit)]
        return cents(sum((getattr(r, column) for r in rows), Decimal(0)) / len(rows))
    if metric == "approval":
        if not rows:
            return None
        approved = sum(1 for r in rows if r.status == "approved")
        return cents(Decimal(100) * approved / len(rows))
    raise AssertionError(metric)


def by(rows: list[Row], key: Callable[[Row], str | None]) -> dict[str | None, list[Row]]:
    groups: dict[str | None, list[Row]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    return groups


def per(
    rows: list[Row], key: Callable[[Row], str | None], metric: str, unit: str = "myr"
) -> dict[str | None, Any]:
    return {k: value(v, metric, unit) for k, v in by(rows, key).items()}


def local(r: Row, fmt: str) -> str:
    return r.occurred_at.astimezone(ZONE).strftime(fmt)


def day_of(r: Row) -> str:
    return local(r, "%Y-%m-%d")


def hour_of(r: Row) -> str:
    return local(r, "%Y-%m-%d %H:00")


def month_of(r: Row) -> str:
    return local(r, "%Y-%m")


def week_of(r: Row) -> str:
    d = r.occurred_at.astimezone(ZONE).date()
    return (d - timedelta(days=d.weekday())).isoformat()


def offer_of(r: Row) -> str:
    return r.offer_name


def partner_of(r: Row) -> str:
    return r.partner


def duplicates(period: Period, **kw: Any) -> list[Row]:
    return pick(period, rows=[r for r in DATA.rows if r.is_duplicate], **kw)


def rejections(period: Period, partner: str | None = None) -> list[Any]:
    return [
        r
        for r in DATA.rejections
        if period[0] <= r.received_at < period[1] and (partner is None or r.partner == partner)
    ]


# ---------------------------------------------------------------------------- checks

Answer = dict[str, Any]
Check = Callable[[Answer], str | None]


def records(answer: Answer) -> list[dict[str, Any]]:
    return [dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]]


def same(got: Any, expected: Any) -> bool:
    if expected is None:
        return got is None
    if isinstance(expected, Decimal):
        return got is not None and Decimal(str(got)) == expected
    return bool(got == expected)


def one(**expected: Any) -> Check:
    def check(answer: Answer) -> str | None:
        rows = records(answer)
        if len(rows) != 1:
            return f"expected one row, got {len(rows)}"
        for column, wanted in expected.items():
            if column not in rows[0]:
                return f"no column {column} in {answer['columns']}"
            if not same(rows[0][column], wanted):
                return f"{column}: got {rows[0][column]!r}, expected {wanted!r}"
        return None

    return check


def grouped(key: str, column: str, mapping: dict[Any, Any]) -> Check:
    def check(answer: Answer) -> str | None:
        rows = records(answer)
        got = {r.get(key): r.get(column) for r in rows}
        if set(got) != set(mapping):
            return (
                f"groups differ: got {sorted(map(str, got))}, expected {sorted(map(str, mapping))}"
            )
        wrong = {k: (got[k], v) for k, v in mapping.items() if not same(got[k], v)}
        return f"values differ (got, expected): {wrong}" if wrong else None

    return check


def ranked(key: str, column: str, mapping: dict[Any, Any], n: int, *, top: bool = True) -> Check:
    """The N best (or worst) groups, in order; groups tied on the value may swap."""

    def check(answer: Answer) -> str | None:
        rows = records(answer)
        ordered = sorted(mapping.values(), reverse=top)[:n]
        if len(rows) != len(ordered):
            return f"expected {len(ordered)} rows, got {len(rows)}"
        for r, wanted in zip(rows, ordered, strict=True):
            if r.get(key) not in mapping or not same(r.get(column), mapping[r.get(key)]):
                return f"{r.get(key)}: got {r.get(column)}, expected {mapping.get(r.get(key))}"
            if not same(r.get(column), wanted):
                return f"order: got {r.get(column)} where {wanted} was expected"
        return None

    return check


def growth(previous: Any, current: Any) -> Decimal | None:
    if not previous:
        return None
    return cents(Decimal(100) * (Decimal(current) - Decimal(previous)) / Decimal(previous))


def compared(column: str, previous: Any, current: Any) -> Check:
    return one(
        **{
            f"{column}_previous": previous,
            f"{column}_current": current,
            f"{column}_change": current - previous,
            f"{column}_growth_pct": growth(previous, current),
        }
    )


def compared_by(
    key: str, column: str, previous: dict[Any, Any], current: dict[Any, Any], zero: Any
) -> Check:
    def check(answer: Answer) -> str | None:
        keys = set(previous) | set(current)
        rows = {r.get(key): r for r in records(answer)}
        if set(rows) != keys:
            return f"groups differ: {sorted(map(str, rows))} vs {sorted(map(str, keys))}"
        for k in keys:
            p, c = previous.get(k, zero), current.get(k, zero)
            r = rows[k]
            if not (same(r[f"{column}_previous"], p) and same(r[f"{column}_current"], c)):
                return (
                    f"{k}: got {r[f'{column}_previous']}/{r[f'{column}_current']}, expected {p}/{c}"
                )
            if not same(r[f"{column}_growth_pct"], growth(p, c)):
                return f"{k}: growth {r[f'{column}_growth_pct']} vs {growth(p, c)}"
        return None

    return check


# ---------------------------------------------------------------------------- questions

SHOPEE = {"Shopee MY", "Shopee SG"}
LAZADA = {"Lazada MY", "Lazada SG"}
STATUS_OF: Callable[[Row], str] = lambda r: r.status  # noqa: E731
CURRENCY_OF: Callable[[Row], str] = lambda r: r.currency  # noqa: E731
AFF_SUB: Callable[[Row], str] = lambda r: r.aff_sub  # noqa: E731
AFF_SUB2: Callable[[Row], str | None] = lambda r: r.aff_sub2  # noqa: E731
ADV_SUB: Callable[[Row], str] = lambda r: r.adv_sub  # noqa: E731


def over(column: str, amount: str) -> Callable[[Row], bool]:
    return lambda r: getattr(r, column) > Decimal(amount)


def at_least(column: str, amount: str) -> Callable[[Row], bool]:
    return lambda r: getattr(r, column) >= Decimal(amount)


def under(column: str, amount: str) -> Callable[[Row], bool]:
    return lambda r: getattr(r, column) < Decimal(amount)


def cases() -> list[tuple[str, Check]]:
    v, p = value, pick
    c: list[tuple[str, Check]] = []

    def add(question: str, check: Check) -> None:
        c.append((question, check))

    # --- totals over the time phrase families (zh)
    add("今天有多少转化？", one(conversions=v(p(TODAY), "conversions")))
    add("昨天的订单数", one(conversions=v(p(YESTERDAY), "conversions")))
    add("前天成交了多少单", one(conversions=v(p(DAY_BEFORE), "conversions")))
    add("本周的转化数", one(conversions=v(p(THIS_WEEK), "conversions")))
    add("上周的订单量是多少", one(conversions=v(p(LAST_WEEK), "conversions")))
    add("最近七天的转化量", one(conversions=v(p(LAST_7_DAYS), "conversions")))
    add("过去二十四小时有多少订单", one(conversions=v(p(PAST_24_HOURS), "conversions")))
    add("本月的销售额", one(sales_myr=v(p(THIS_MONTH), "sales")))
    add("上个月的佣金是多少", one(payout_myr=v(p(LAST_MONTH), "payout")))
    add("今年的GMV", one(sales_myr=v(p(THIS_YEAR), "sales")))
    add("去年的订单数", one(conversions=v(p(LAST_YEAR), "conversions")))
    add("11月1日到11月7日的成交额", one(sales_myr=v(p(NOV_1_TO_7), "sales")))
    add("十一月一日到十一月七日的转化", one(conversions=v(p(NOV_1_TO_7), "conversions")))
    add("11月10日至15日的收益", one(payout_myr=v(p(NOV_10_TO_15), "payout")))
    add("周一以来的订单数", one(conversions=v(p(SINCE_MONDAY), "conversions")))
    add("2026年11月3日的销售额", one(sales_myr=v(p(NOV_3), "sales")))
    add("9月份的佣金", one(payout_myr=v(p(SEPTEMBER), "payout")))
    # per day of the period: the total ÷ the period's days, up to today (the 25th)
    add(
        "最近30天的日均订单",
        one(daily_conversions=cents(Decimal(v(p(LAST_30_DAYS), "conversions")) / 30)),
    )
    add(
        "daily average sales this month",
        one(daily_sales_myr=cents(sum((r.sale_myr for r in p(THIS_MONTH)), Decimal(0)) / 25)),
    )
    add(
        "本月每个offer的日均佣金",
        grouped(
            "offer_name",
            "daily_payout_myr",
            {
                k: cents(sum((r.payout_myr for r in rows), Decimal(0)) / 25)
                for k, rows in by(p(THIS_MONTH), offer_of).items()
            },
        ),
    )
    add(
        "平均每天多少单 上周",
        one(daily_conversions=cents(Decimal(v(p(LAST_WEEK), "conversions")) / 7)),
    )
    # like for like: the same stretch a week before, up to the same moment (now is
    # Wednesday 2026-11-25 15:30)
    add(
        "昨天和上周同期的订单对比",
        compared(
            "conversions",
            v(p((at(11, 17), at(11, 18))), "conversions"),
            v(p(YESTERDAY), "conversions"),
        ),
    )
    add(
        "sales this week vs the same period last week",
        compared(
            "sales_myr",
            v(p((at(11, 16), NOW - timedelta(weeks=1))), "sales"),
            v(p(THIS_WEEK), "sales"),
        ),
    )
    # the marketplaces' sale days (today is 2026-11-25: 11.11 of this year)
    add("双十一那天的订单数", one(conversions=v(p(NOV_11), "conversions")))
    add("11.11 sales", one(sales_myr=v(p(NOV_11), "sales")))
    add(
        "双11大促期间每小时的订单数",
        grouped("hour", "conversions", per(p(NOV_11), hour_of, "conversions")),
    )
    add("最近30天的销售金额", one(sales_myr=v(p(LAST_30_DAYS), "sales")))
    add("最近3个月的转化数", one(conversions=v(p(LAST_3_MONTHS), "conversions")))
    add("近十四天的成交量", one(conversions=v(p(LAST_14_DAYS), "conversions")))
    add("过去6小时的订单", one(conversions=v(p(PAST_6_HOURS), "conversions")))
    add("总共有多少订单", one(conversions=v(p(), "conversions")))
    # --- totals over the time phrase families (en)
    add("how many conversions today?", one(conversions=v(p(TODAY), "conversions")))
    add("orders yesterday", one(conversions=v(p(YESTERDAY), "conversions")))
    add("conversions the day before yesterday", one(conversions=v(p(DAY_BEFORE), "conversions")))
    add("how many orders this week", one(conversions=v(p(THIS_WEEK), "conversions")))
    add("total conversions last week", one(conversions=v(p(LAST_WEEK), "conversions")))
    add("conversions in the last 7 days", one(conversions=v(p(LAST_7_DAYS), "conversions")))
    add("orders in the past 24 hours", one(conversions=v(p(PAST_24_HOURS), "conversions")))
    add("sales this month", one(sales_myr=v(p(THIS_MONTH), "sales")))
    add("what was the payout last month?", one(payout_myr=v(p(LAST_MONTH), "payout")))
    add("GMV this year", one(sales_myr=v(p(THIS_YEAR), "sales")))
    add("conversions last year", one(conversions=v(p(LAST_YEAR), "conversions")))
    add("sales from Nov 1 to Nov 7", one(sales_myr=v(p(NOV_1_TO_7), "sales")))
    add(
        "conversions between 2026-11-01 and 2026-11-07",
        one(conversions=v(p(NOV_1_TO_7), "conversions")),
    )
    add("orders since Monday", one(conversions=v(p(SINCE_MONDAY), "conversions")))
    add("commission on 2026-11-03", one(payout_myr=v(p(NOV_3), "payout")))
    add("earnings in September", one(payout_myr=v(p(SEPTEMBER), "payout")))
    add("sales in the last 30 days", one(sales_myr=v(p(LAST_30_DAYS), "sales")))
    add(
        "conversions over the past fourteen days",
        one(conversions=v(p(LAST_14_DAYS), "conversions")),
    )
    add("how many orders in the last 6 hours", one(conversions=v(p(PAST_6_HOURS), "conversions")))
    add("total number of orders", one(conversions=v(p(), "conversions")))

    # --- money units
    add("昨天的销售额（美元）", one(sales_usd=v(p(YESTERDAY), "sales", "usd")))
    add("上周的佣金是多少美金", one(payout_usd=v(p(LAST_WEEK), "payout", "usd")))
    add("本月令吉销售额", one(sales_myr=v(p(THIS_MONTH), "sales", "myr")))
    add("sales in USD last week", one(sales_usd=v(p(LAST_WEEK), "sales", "usd")))
    add("payout in dollars this month", one(payout_usd=v(p(THIS_MONTH), "payout", "usd")))
    add("GMV in ringgit yesterday", one(sales_myr=v(p(YESTERDAY), "sales", "myr")))
    add("SGD sales last month", one(sales_local=v(p(LAST_MONTH, currency="SGD"), "sales", "local")))
    add("上个月新币的销售额", one(sales_local=v(p(LAST_MONTH, currency="SGD"), "sales", "local")))
    add(
        "local currency sales by currency this month",
        grouped("currency", "sales_local", per(p(THIS_MONTH), CURRENCY_OF, "sales", "local")),
    )
    add(
        "本月按币种的本币佣金",
        grouped("currency", "payout_local", per(p(THIS_MONTH), CURRENCY_OF, "payout", "local")),
    )

    # --- other metrics
    add("昨天的客单价", one(aov_myr=v(p(YESTERDAY), "aov")))
    add("average order value last week", one(aov_myr=v(p(LAST_WEEK), "aov")))
    add("本月平均订单金额（美元）", one(aov_usd=v(p(THIS_MONTH), "aov", "usd")))
    add("AOV in USD in the last 30 days", one(aov_usd=v(p(LAST_30_DAYS), "aov", "usd")))
    add("上周的审核通过率", one(approval_rate_pct=v(p(LAST_WEEK), "approval")))
    add("approval rate this month", one(approval_rate_pct=v(p(THIS_MONTH), "approval")))
    add("上个月平均佣金", one(avg_payout_myr=v(p(LAST_MONTH), "avg_payout")))
    add("average commission last month", one(avg_payout_myr=v(p(LAST_MONTH), "avg_payout")))
    add("本周有多少重复回传", one(duplicates=len(duplicates(THIS_WEEK))))
    add("how many duplicate postbacks last month", one(duplicates=len(duplicates(LAST_MONTH))))
    add("duplicates in the last 30 days", one(duplicates=len(duplicates(LAST_30_DAYS))))
    add("上个月重复订单有多少", one(duplicates=len(duplicates(LAST_MONTH))))
    add("上周被拒收的回传有多少", one(rejections=len(rejections(LAST_WEEK))))
    add("how many rejections this month", one(rejections=len(rejections(THIS_MONTH))))
    add("rejected postbacks in the last 7 days", one(rejections=len(rejections(LAST_7_DAYS))))
    add(
        "本月每个渠道的拒收数",
        grouped(
            "partner",
            "rejections",
            {k: len(v_) for k, v_ in by_rejection(rejections(THIS_MONTH)).items()},
        ),
    )
    add(
        "rejections by reason last month",
        grouped(
            "reason",
            "rejections",
            {k: len(v_) for k, v_ in by_reason(rejections(LAST_MONTH)).items()},
        ),
    )
    add(
        "昨天的订单数和销售额",
        one(conversions=v(p(YESTERDAY), "conversions"), sales_myr=v(p(YESTERDAY), "sales")),
    )
    add(
        "conversions and payout last week",
        one(conversions=v(p(LAST_WEEK), "conversions"), payout_myr=v(p(LAST_WEEK), "payout")),
    )
    add(
        "转化数和重复回传数 本月",
        one(conversions=v(p(THIS_MONTH), "conversions"), duplicates=len(duplicates(THIS_MONTH))),
    )

    # --- breakdowns
    add(
        "昨天每个offer的佣金是多少？",
        grouped("offer_name", "payout_myr", per(p(YESTERDAY), offer_of, "payout")),
    )
    add(
        "上周各商家的销售额",
        grouped("offer_name", "sales_myr", per(p(LAST_WEEK), offer_of, "sales")),
    )
    add(
        "本月按广告主统计订单数",
        grouped("offer_name", "conversions", per(p(THIS_MONTH), offer_of, "conversions")),
    )
    add(
        "payout by offer yesterday",
        grouped("offer_name", "payout_myr", per(p(YESTERDAY), offer_of, "payout")),
    )
    add(
        "sales per merchant this week",
        grouped("offer_name", "sales_myr", per(p(THIS_WEEK), offer_of, "sales")),
    )
    add(
        "conversions by advertiser last month",
        grouped("offer_name", "conversions", per(p(LAST_MONTH), offer_of, "conversions")),
    )
    add(
        "conversions by offer id last week",
        grouped("offer_id", "conversions", per(p(LAST_WEEK), lambda r: r.offer_id, "conversions")),
    )
    add(
        "本月按offer编号统计佣金",
        grouped("offer_id", "payout_myr", per(p(THIS_MONTH), lambda r: r.offer_id, "payout")),
    )
    add(
        "本月每个合作伙伴的转化数",
        grouped("partner", "conversions", per(p(THIS_MONTH), partner_of, "conversions")),
    )
    add(
        "上周各渠道的佣金",
        grouped("partner", "payout_myr", per(p(LAST_WEEK), partner_of, "payout")),
    )
    add(
        "按租户统计今年的销售额",
        grouped("partner", "sales_myr", per(p(THIS_YEAR), partner_of, "sales")),
    )
    add(
        "conversions by partner this month",
        grouped("partner", "conversions", per(p(THIS_MONTH), partner_of, "conversions")),
    )
    add(
        "sales per channel last week",
        grouped("partner", "sales_myr", per(p(LAST_WEEK), partner_of, "sales")),
    )
    add(
        "approval rate by partner this month",
        grouped("partner", "approval_rate_pct", per(p(THIS_MONTH), partner_of, "approval")),
    )
    add(
        "各合作伙伴上个月的通过率",
        grouped("partner", "approval_rate_pct", per(p(LAST_MONTH), partner_of, "approval")),
    )
    add(
        "本月按状态统计订单",
        grouped("status", "conversions", per(p(THIS_MONTH), STATUS_OF, "conversions")),
    )
    add(
        "conversions by status last week",
        grouped("status", "conversions", per(p(LAST_WEEK), STATUS_OF, "conversions")),
    )
    add(
        "上个月各状态的销售额",
        grouped("status", "sales_myr", per(p(LAST_MONTH), STATUS_OF, "sales")),
    )
    add(
        "orders by currency this month",
        grouped("currency", "conversions", per(p(THIS_MONTH), CURRENCY_OF, "conversions")),
    )
    add(
        "本月按币种统计转化",
        grouped("currency", "conversions", per(p(THIS_MONTH), CURRENCY_OF, "conversions")),
    )
    add(
        "最近7天每天的转化数",
        grouped("day", "conversions", per(p(LAST_7_DAYS), day_of, "conversions")),
    )
    add(
        "conversions by day in the last 30 days",
        grouped("day", "conversions", per(p(LAST_30_DAYS), day_of, "conversions")),
    )
    add("daily sales this week", grouped("day", "sales_myr", per(p(THIS_WEEK), day_of, "sales")))
    add("上周每日佣金", grouped("day", "payout_myr", per(p(LAST_WEEK), day_of, "payout")))
    add("今天每小时的订单数", grouped("hour", "conversions", per(p(TODAY), hour_of, "conversions")))
    add(
        "hourly conversions yesterday",
        grouped("hour", "conversions", per(p(YESTERDAY), hour_of, "conversions")),
    )
    add(
        "按小时统计过去24小时的销售额",
        grouped("hour", "sales_myr", per(p(PAST_24_HOURS), hour_of, "sales")),
    )
    add(
        "weekly conversions in the last 30 days",
        grouped("week", "conversions", per(p(LAST_30_DAYS), week_of, "conversions")),
    )
    add(
        "最近3个月每周的佣金",
        grouped("week", "payout_myr", per(p(LAST_3_MONTHS), week_of, "payout")),
    )
    add(
        "monthly sales this year",
        grouped("month", "sales_myr", per(p(THIS_YEAR), month_of, "sales")),
    )
    add(
        "今年每月的订单数",
        grouped("month", "conversions", per(p(THIS_YEAR), month_of, "conversions")),
    )
    add(
        "按月统计今年的审核通过率",
        grouped("month", "approval_rate_pct", per(p(THIS_YEAR), month_of, "approval")),
    )
    add(
        "conversions by aff_sub this month",
        grouped("aff_sub", "conversions", per(p(THIS_MONTH), AFF_SUB, "conversions")),
    )
    add(
        "本月按aff_sub统计销售额",
        grouped("aff_sub", "sales_myr", per(p(THIS_MONTH), AFF_SUB, "sales")),
    )
    add(
        "sales by aff_sub2 last month",
        grouped("aff_sub2", "sales_myr", per(p(LAST_MONTH), AFF_SUB2, "sales")),
    )
    add(
        "上个月每个adv_sub的转化数",
        grouped("adv_sub", "conversions", per(p(LAST_MONTH), ADV_SUB, "conversions")),
    )
    add(
        "payout by adv_sub this year",
        grouped("adv_sub", "payout_myr", per(p(THIS_YEAR), ADV_SUB, "payout")),
    )
    add(
        "average order value by offer last month",
        grouped("offer_name", "aov_myr", per(p(LAST_MONTH), offer_of, "aov")),
    )
    add(
        "上个月各offer的客单价",
        grouped("offer_name", "aov_myr", per(p(LAST_MONTH), offer_of, "aov")),
    )
    add(
        "duplicates by offer this month",
        grouped(
            "offer_name",
            "duplicates",
            {k: len(x) for k, x in by(duplicates(THIS_MONTH), offer_of).items()},
        ),
    )
    add(
        "每天的重复回传 最近7天",
        grouped(
            "day", "duplicates", {k: len(x) for k, x in by(duplicates(LAST_7_DAYS), day_of).items()}
        ),
    )
    add(
        "rejections by day this week",
        grouped(
            "day",
            "rejections",
            {k: len(x) for k, x in by_rejection_day(rejections(THIS_WEEK)).items()},
        ),
    )

    # --- filters: offers (forgiving names), partners, status, currency, thresholds, sub ids
    add("今天Shopee MY的订单数", one(conversions=v(p(TODAY, offers={"Shopee MY"}), "conversions")))
    add("shopee sales last week", one(sales_myr=v(p(LAST_WEEK, offers=SHOPEE), "sales")))
    add(
        "SHOPEE MY conversions this month",
        one(conversions=v(p(THIS_MONTH, offers={"Shopee MY"}), "conversions")),
    )
    add(
        "shopeemy payout yesterday", one(payout_myr=v(p(YESTERDAY, offers={"Shopee MY"}), "payout"))
    )
    add("虾皮上个月的销售额", one(sales_myr=v(p(LAST_MONTH, offers=SHOPEE), "sales")))
    add("lazada 本周的订单", one(conversions=v(p(THIS_WEEK, offers=LAZADA), "conversions")))
    add("Lazada SG上个月的佣金", one(payout_myr=v(p(LAST_MONTH, offers={"Lazada SG"}), "payout")))
    add(
        "tiktok shop my sales since monday",
        one(sales_myr=v(p(SINCE_MONDAY, offers={"TikTok Shop MY"}), "sales")),
    )
    add(
        "tiktok本月转化数",
        one(conversions=v(p(THIS_MONTH, offers={"TikTok Shop MY"}), "conversions")),
    )
    add(
        "zalora conversions last month",
        one(conversions=v(p(LAST_MONTH, offers={"Zalora ID"}), "conversions")),
    )
    add(
        "conversions for offer 1001 last week",
        one(conversions=v(p(LAST_WEEK, where=lambda r: r.offer_id == "1001"), "conversions")),
    )
    add(
        "offer id 2001 sales this month",
        one(sales_myr=v(p(THIS_MONTH, where=lambda r: r.offer_id == "2001"), "sales")),
    )
    add(
        "shopee and lazada orders yesterday",
        one(conversions=v(p(YESTERDAY, offers=SHOPEE | LAZADA), "conversions")),
    )
    # Names compared: side by side, by offer, rather than with the period before.
    add(
        "lazada和shopee上周的销售额对比",
        grouped(
            "offer_name", "sales_myr", per(p(LAST_WEEK, offers=SHOPEE | LAZADA), offer_of, "sales")
        ),
    )
    add(
        "shopee vs lazada conversions this month",
        grouped(
            "offer_name",
            "conversions",
            per(p(THIS_MONTH, offers=SHOPEE | LAZADA), offer_of, "conversions"),
        ),
    )
    add(
        "每天shopee的转化 最近7天",
        grouped("day", "conversions", per(p(LAST_7_DAYS, offers=SHOPEE), day_of, "conversions")),
    )
    add(
        "alpha media conversions yesterday",
        one(conversions=v(p(YESTERDAY, partner="alpha-media"), "conversions")),
    )
    add(
        "合作伙伴 Beta Deals 本月的佣金",
        one(payout_myr=v(p(THIS_MONTH, partner="beta-deals"), "payout")),
    )
    add("gamma-net sales last week", one(sales_myr=v(p(LAST_WEEK, partner="gamma-net"), "sales")))
    add(
        "渠道alpha-media上周每天的订单",
        grouped(
            "day", "conversions", per(p(LAST_WEEK, partner="alpha-media"), day_of, "conversions")
        ),
    )
    add(
        "beta deals payout by offer this month",
        grouped(
            "offer_name", "payout_myr", per(p(THIS_MONTH, partner="beta-deals"), offer_of, "payout")
        ),
    )
    add(
        "昨天审核通过的订单有多少",
        one(conversions=v(p(YESTERDAY, status="approved"), "conversions")),
    )
    add("本月待审核的佣金", one(payout_myr=v(p(THIS_MONTH, status="pending"), "payout")))
    add("上周被拒绝的订单数", one(conversions=v(p(LAST_WEEK, status="rejected"), "conversions")))
    add("approved sales last month", one(sales_myr=v(p(LAST_MONTH, status="approved"), "sales")))
    add("pending payout this week", one(payout_myr=v(p(THIS_WEEK, status="pending"), "payout")))
    add(
        "rejected conversions by offer this month",
        grouped(
            "offer_name",
            "conversions",
            per(p(THIS_MONTH, status="rejected"), offer_of, "conversions"),
        ),
    )
    add(
        "已批准的转化 按合作伙伴 上个月",
        grouped(
            "partner",
            "conversions",
            per(p(LAST_MONTH, status="approved"), partner_of, "conversions"),
        ),
    )
    add(
        "SGD conversions this month",
        one(conversions=v(p(THIS_MONTH, currency="SGD"), "conversions")),
    )
    add("币种为MYR的订单数 上周", one(conversions=v(p(LAST_WEEK, currency="MYR"), "conversions")))
    add(
        "orders in IDR currency last month",
        one(conversions=v(p(LAST_MONTH, currency="IDR"), "conversions")),
    )
    add(
        "泰铢订单的本币销售额 本月",
        one(sales_local=v(p(THIS_MONTH, currency="THB"), "sales", "local")),
    )
    add(
        "orders over 200 MYR last week",
        one(conversions=v(p(LAST_WEEK, where=over("sale_myr", "200")), "conversions")),
    )
    # An amount and no measure: the conversions over it are counted.
    add(
        "sales above 50 usd this month",
        one(conversions=v(p(THIS_MONTH, where=over("sale_usd", "50")), "conversions")),
    )
    add(
        "how many orders above $50 this month",
        one(conversions=v(p(THIS_MONTH, where=over("sale_usd", "50")), "conversions")),
    )
    add(
        "销售额大于100令吉的订单数 上周",
        one(conversions=v(p(LAST_WEEK, where=over("sale_myr", "100")), "conversions")),
    )
    add(
        "本月金额超过300马币的订单的佣金",
        one(payout_myr=v(p(THIS_MONTH, where=over("sale_myr", "300")), "payout")),
    )
    add(
        "orders under RM 20 yesterday",
        one(conversions=v(p(YESTERDAY, where=under("sale_myr", "20")), "conversions")),
    )
    add(
        "conversions with payout at least 10 MYR last month",
        one(conversions=v(p(LAST_MONTH, where=at_least("payout_myr", "10")), "conversions")),
    )
    add(
        "佣金不少于5美元的订单 本月",
        one(conversions=v(p(THIS_MONTH, where=at_least("payout_usd", "5")), "conversions")),
    )
    add(
        "500令吉以上的订单数 最近30天",
        one(conversions=v(p(LAST_30_DAYS, where=at_least("sale_myr", "500")), "conversions")),
    )
    add(
        "sales by offer for orders over RM 100 this month",
        grouped(
            "offer_name",
            "sales_myr",
            per(p(THIS_MONTH, where=over("sale_myr", "100")), offer_of, "sales"),
        ),
    )
    add(
        "aff_sub = campaign-a conversions last month",
        one(conversions=v(p(LAST_MONTH, where=lambda r: r.aff_sub == "campaign-a"), "conversions")),
    )
    add(
        "adv_sub为returning的销售额 本月",
        one(sales_myr=v(p(THIS_MONTH, where=lambda r: r.adv_sub == "returning"), "sales")),
    )

    # --- ranking
    week_sales = per(p(LAST_WEEK), offer_of, "sales")
    add("top 5 offers by sales last week", ranked("offer_name", "sales_myr", week_sales, 5))
    add("上周销售额前5的offer", ranked("offer_name", "sales_myr", week_sales, 5))
    add("上周销售额最高的三个商家", ranked("offer_name", "sales_myr", week_sales, 3))
    month_conv = per(p(THIS_MONTH), offer_of, "conversions")
    add(
        "which offer had the most conversions this month",
        ranked("offer_name", "conversions", month_conv, 1),
    )
    add("本月哪个offer的订单最多", ranked("offer_name", "conversions", month_conv, 1))
    add(
        "bottom 3 offers by conversions this month",
        ranked("offer_name", "conversions", month_conv, 3, top=False),
    )
    add("本月订单最少的2个offer", ranked("offer_name", "conversions", month_conv, 2, top=False))
    partner_payout = per(p(LAST_MONTH), partner_of, "payout")
    add("top 2 partners by payout last month", ranked("partner", "payout_myr", partner_payout, 2))
    add("上个月佣金最高的合作伙伴", ranked("partner", "payout_myr", partner_payout, 1))
    add(
        "which partner earned the least last month",
        ranked("partner", "payout_myr", partner_payout, 1, top=False),
    )
    approval = per(p(LAST_MONTH), partner_of, "approval")
    add("上个月审核通过率最高的2个合作伙伴", ranked("partner", "approval_rate_pct", approval, 2))
    days = per(p(LAST_30_DAYS), day_of, "conversions")
    add(
        "which day had the most conversions in the last 30 days",
        ranked("day", "conversions", days, 1),
    )
    add("最近30天订单最多的一天", ranked("day", "conversions", days, 1))
    aff = per(p(THIS_YEAR), AFF_SUB, "sales")
    add("top 3 aff_sub by sales this year", ranked("aff_sub", "sales_myr", aff, 3))
    add("今年销售额排名前三的aff_sub", ranked("aff_sub", "sales_myr", aff, 3))
    aov = per(p(THIS_MONTH), offer_of, "aov")
    add("top 3 offers by average order value this month", ranked("offer_name", "aov_myr", aov, 3))
    add(
        "前五名商家 上个月 按佣金",
        ranked("offer_name", "payout_myr", per(p(LAST_MONTH), offer_of, "payout"), 5),
    )
    add(
        "top offers by payout in USD this year",
        ranked("offer_name", "payout_usd", per(p(THIS_YEAR), offer_of, "payout", "usd"), 10),
    )
    add(
        "哪个渠道本周的转化最多",
        ranked("partner", "conversions", per(p(THIS_WEEK), partner_of, "conversions"), 1),
    )

    # --- comparison of two periods
    add(
        "本周和上周的销售额对比",
        compared("sales_myr", v(p(LAST_WEEK), "sales"), v(p(THIS_WEEK), "sales")),
    )
    add(
        "this week vs last week conversions",
        compared("conversions", v(p(LAST_WEEK), "conversions"), v(p(THIS_WEEK), "conversions")),
    )
    add(
        "payout in USD yesterday vs the day before",
        compared("payout_usd", v(p(DAY_BEFORE), "payout", "usd"), v(p(YESTERDAY), "payout", "usd")),
    )
    add(
        "昨天与前天的订单数相比",
        compared("conversions", v(p(DAY_BEFORE), "conversions"), v(p(YESTERDAY), "conversions")),
    )
    add(
        "compare sales this month with last month",
        compared("sales_myr", v(p(LAST_MONTH), "sales"), v(p(THIS_MONTH), "sales")),
    )
    add(
        "本月佣金环比",
        compared("payout_myr", v(p(LAST_MONTH), "payout"), v(p(THIS_MONTH), "payout")),
    )
    add(
        "上周的转化数环比增长",
        compared(
            "conversions", v(p(WEEK_BEFORE_LAST), "conversions"), v(p(LAST_WEEK), "conversions")
        ),
    )
    add(
        "conversions last week compared to the week before",
        compared(
            "conversions", v(p(WEEK_BEFORE_LAST), "conversions"), v(p(LAST_WEEK), "conversions")
        ),
    )
    add(
        "sales by offer this week vs last week",
        compared_by(
            "offer_name",
            "sales_myr",
            per(p(LAST_WEEK), offer_of, "sales"),
            per(p(THIS_WEEK), offer_of, "sales"),
            Decimal("0.00"),
        ),
    )
    add(
        "各渠道本月与上月的订单对比",
        compared_by(
            "partner",
            "conversions",
            per(p(LAST_MONTH), partner_of, "conversions"),
            per(p(THIS_MONTH), partner_of, "conversions"),
            0,
        ),
    )
    add(
        "shopee orders this month vs last month",
        compared(
            "conversions",
            v(p(LAST_MONTH, offers=SHOPEE), "conversions"),
            v(p(THIS_MONTH, offers=SHOPEE), "conversions"),
        ),
    )
    add(
        "payout growth week over week",
        compared("payout_myr", v(p(LAST_WEEK), "payout"), v(p(THIS_WEEK), "payout")),
    )
    add(
        "订单数 月环比",
        compared("conversions", v(p(LAST_MONTH), "conversions"), v(p(THIS_MONTH), "conversions")),
    )
    add(
        "审核通过率 本周对比上周",
        compared("approval_rate_pct", v(p(LAST_WEEK), "approval"), v(p(THIS_WEEK), "approval")),
    )
    return c


def by_rejection(rows: list[Any]) -> dict[str | None, list[Any]]:
    groups: dict[str | None, list[Any]] = defaultdict(list)
    for r in rows:
        groups[r.partner].append(r)
    return groups


def by_reason(rows: list[Any]) -> dict[str | None, list[Any]]:
    groups: dict[str | None, list[Any]] = defaultdict(list)
    for r in rows:
        groups[r.reason].append(r)
    return groups


def by_rejection_day(rows: list[Any]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        groups[r.received_at.astimezone(ZONE).strftime("%Y-%m-%d")].append(r)
    return groups


CASES = cases()
CJK = __import__("re").compile(r"[\u4e00-\u9fff]")


def test_the_question_set_is_big_and_bilingual() -> None:
    chinese = sum(1 for q, _ in CASES if CJK.search(q))
    assert len(CASES) >= 150
    assert 0.4 <= chinese / len(CASES) <= 0.6
    assert len({q for q, _ in CASES}) == len(CASES)


@pytest.fixture(params=["rows", "day cells, unfolded", "day cells, folded"])
async def source(request: pytest.FixtureRequest, app: PostbackApp, db: asyncpg.Connection) -> str:
    """Where eligible questions are answered from: the rows alone (no day cells for the
    zone), day cells made only of pending deltas, or folded day cells."""
    await app.state.compaction.stop()  # this test decides when the compaction runs
    await db.execute("DELETE FROM conversion_daily_zone WHERE zone = $1", ZONE.key)
    if request.param == "day cells, unfolded":
        await db.execute("INSERT INTO conversion_daily_zone (zone) VALUES ($1)", ZONE.key)
    return str(request.param)


async def test_question_set_scores_at_least_95_percent(
    app: PostbackApp, db: asyncpg.Connection, source: str
) -> None:
    await load(db, DATA)
    if source == "day cells, folded":
        await compaction.compact(app.state.db.engine, ZONE.key)
        assert await db.fetchval("SELECT count(*) FROM conversion_hourly_delta") == 0
    service.forget_vocabulary()
    settings = app.state.settings
    failures: list[str] = []
    from_days = 0
    for question, check in CASES:
        try:
            answer = await service.answer(db, ADMIN, question, settings=settings, now=NOW)
        except CannotAnswer as exc:
            failures.append(f"{question!r}: refused: {exc.message}")
            continue
        from_days += "conversion_days" in answer.sql
        problem = check(answer.model_dump())
        if problem is not None:
            failures.append(f"{question!r}: {problem}\n    {answer.sql}")
    score = 1 - len(failures) / len(CASES)
    print(
        f"\nNLQ question set ({source}): {len(CASES) - len(failures)}/{len(CASES)} correct"
        f" ({score:.1%}); {from_days} answered from day cells"
    )
    for failure in failures:
        print("  FAIL", failure)
    assert score >= PASS_MARK, "\n".join(failures)
    if source == "rows":
        assert from_days == 0
    else:
        assert from_days >= len(CASES) // 4
