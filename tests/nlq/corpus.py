"""The paraphrase corpus: questions generated from templates × synonyms × word orders in both
languages, questions written by hand in the style operators type, and two- and three-turn
conversations; each with its expected answer worked out from the dataset's Python rows
(tests/nlq/dataset.py) by the oracle of test_questions.py and the few measures added here —
never by the engine.

The templates are split in two: the engine was tuned on `TUNE` only; `HELD_OUT` (more than
30 % of the templates, chosen before any was run) measures it on phrasings it was not tuned
on."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from tests.nlq.test_questions import (
    DATA,
    DAY_BEFORE,
    FIRST,
    LAST_7_DAYS,
    LAST_30_DAYS,
    LAST_MONTH,
    LAST_WEEK,
    SEPTEMBER,
    THIS_MONTH,
    THIS_WEEK,
    TODAY,
    YESTERDAY,
    Answer,
    Check,
    Period,
    Row,
    by,
    cents,
    compared,
    compared_by,
    day_of,
    grouped,
    one,
    pick,
    ranked,
    value,
)

SHOPEE = frozenset({"Shopee MY", "Shopee SG"})
LAZADA = frozenset({"Lazada MY", "Lazada SG"})
TIKTOK = frozenset({"TikTok Shop MY"})

# ---------------------------------------------------------------------------- the oracle


@dataclass(frozen=True)
class Spec:
    """What a question asks, as the oracle computes it."""

    metric: str  # conversions sales payout aov avg_payout approval rejection_rate
    #              pending_rate duplicate_rate duplicates share
    period: Period
    unit: str = "myr"
    offers: frozenset[str] | None = None
    partner: str | None = None
    status: str | None = None
    by: str | None = None  # offer partner day status
    top: int | None = None
    bottom: int | None = None
    previous: Period | None = None
    where: Callable[[Row], bool] | None = None


def column(spec: Spec) -> str:
    return {
        "conversions": "conversions",
        "duplicates": "duplicates",
        "sales": f"sales_{spec.unit}",
        "payout": f"payout_{spec.unit}",
        "aov": f"aov_{spec.unit}",
        "avg_payout": f"avg_payout_{spec.unit}",
        "approval": "approval_rate_pct",
        "rejection_rate": "rejection_rate_pct",
        "pending_rate": "pending_rate_pct",
        "duplicate_rate": "duplicate_rate_pct",
        "share": "conversions_share_pct",
    }[spec.metric]


KEYS: dict[str, tuple[str, Callable[[Row], Any]]] = {
    "offer": ("offer_name", lambda r: r.offer_name),
    "partner": ("partner", lambda r: r.partner),
    "day": ("day", day_of),
    "status": ("status", lambda r: r.status),
}


def _rows(spec: Spec, period: Period, *, duplicates: bool = False) -> list[Row]:
    rows = [r for r in DATA.rows if r.is_duplicate] if duplicates else FIRST
    return pick(
        period,
        rows=rows,
        offers=spec.offers,
        partner=spec.partner,
        status=spec.status,
        where=spec.where,
    )


def _rate(part: int, whole: int) -> Decimal | None:
    return cents(Decimal(100) * part / whole) if whole else None


def measure(spec: Spec, first: list[Row], dups: list[Row]) -> Any:
    statuses = {"approval": "approved", "rejection_rate": "rejected", "pending_rate": "pending"}
    if spec.metric in statuses:
        return _rate(sum(1 for r in first if r.status == statuses[spec.metric]), len(first))
    if spec.metric == "duplicate_rate":
        return _rate(len(dups), len(first) + len(dups))
    if spec.metric == "duplicates":
        return len(dups)
    return value(first, spec.metric, spec.unit)


def _per_group(spec: Spec, period: Period) -> dict[Any, Any]:
    key = KEYS[spec.by or ""][1]
    first = by(_rows(spec, period), key)
    dups = by(_rows(spec, period, duplicates=True), key)
    if spec.metric == "share":
        total = sum(len(v) for v in first.values())
        return {k: _rate(len(v), total) for k, v in first.items()}
    return {k: measure(spec, first.get(k, []), dups.get(k, [])) for k in first}


def expected(spec: Spec) -> Check:
    """The check of an answer to `spec`."""
    name = column(spec)
    if spec.by is None:
        if spec.previous is not None:
            previous = measure(
                spec, _rows(spec, spec.previous), _rows(spec, spec.previous, duplicates=True)
            )
            current = measure(
                spec, _rows(spec, spec.period), _rows(spec, spec.period, duplicates=True)
            )
            return compared(name, previous, current)
        return one(
            **{
                name: measure(
                    spec, _rows(spec, spec.period), _rows(spec, spec.period, duplicates=True)
                )
            }
        )
    key = KEYS[spec.by][0]
    if spec.previous is not None:
        zero = 0 if spec.metric == "conversions" else Decimal("0.00")
        return compared_by(
            key, name, _per_group(spec, spec.previous), _per_group(spec, spec.period), zero
        )
    mapping = _per_group(spec, spec.period)
    if spec.top is not None:
        return ranked(key, name, mapping, spec.top)
    if spec.bottom is not None:
        return ranked(key, name, mapping, spec.bottom, top=False)
    return grouped(key, name, mapping)


# ---------------------------------------------------------------------------- synonyms

Words = dict[str, list[str]]
METRICS_EN: Words = {
    "conversions": ["conversions", "orders", "number of orders", "order count", "transactions"],
    "sales": ["sales", "GMV", "sales amount", "order value", "turnover"],
    "payout": ["payout", "commission", "earnings", "payouts"],
    "aov": ["average order value", "AOV", "average sale amount"],
    "avg_payout": ["average payout", "avg commission", "average payout per conversion"],
    "approval": ["approval rate", "approved rate", "approval ratio"],
    "rejection_rate": ["rejection rate", "rejected rate", "decline rate"],
    "duplicate_rate": ["duplicate rate", "dupe rate", "duplication rate"],
    "duplicates": ["duplicates", "duplicate postbacks", "dupes"],
}
METRICS_ZH: Words = {
    "conversions": ["转化数", "订单数", "订单数量", "单量", "成交笔数", "转化数量"],
    "sales": ["销售额", "GMV", "成交额", "订单金额", "营业额"],
    "payout": ["佣金", "收益", "提成"],
    "aov": ["客单价", "平均订单金额"],
    "avg_payout": ["平均佣金", "每单佣金", "单均佣金"],
    "approval": ["审核通过率", "通过率", "过审率"],
    "rejection_rate": ["拒绝率", "驳回率"],
    "duplicate_rate": ["重复率", "重复回传率"],
    "duplicates": ["重复回传", "重复回传数"],
}
PERIODS_EN: dict[str, tuple[Period, list[str]]] = {
    "today": (TODAY, ["today"]),
    "yesterday": (YESTERDAY, ["yesterday"]),
    "this week": (THIS_WEEK, ["this week", "current week"]),
    "last week": (LAST_WEEK, ["last week", "previous week"]),
    "this month": (THIS_MONTH, ["this month", "month to date"]),
    "last month": (LAST_MONTH, ["last month", "previous month"]),
    "7 days": (LAST_7_DAYS, ["in the last 7 days", "past 7 days", "over the last seven days"]),
    "30 days": (LAST_30_DAYS, ["in the last 30 days", "past 30 days"]),
}
PERIODS_ZH: dict[str, tuple[Period, list[str]]] = {
    "today": (TODAY, ["今天", "今日"]),
    "yesterday": (YESTERDAY, ["昨天", "昨日"]),
    "this week": (THIS_WEEK, ["本周", "这周"]),
    "last week": (LAST_WEEK, ["上周", "上个星期"]),
    "this month": (THIS_MONTH, ["本月", "这个月"]),
    "last month": (LAST_MONTH, ["上个月", "上月"]),
    "7 days": (LAST_7_DAYS, ["最近7天", "近7天", "过去七天"]),
    "30 days": (LAST_30_DAYS, ["最近30天", "近30天"]),
}
BRANDS_EN = [(SHOPEE, "shopee"), (SHOPEE, "Shopee"), (LAZADA, "lazada"), (TIKTOK, "tiktok shop")]
BRANDS_ZH = [(SHOPEE, "shopee"), (SHOPEE, "虾皮"), (LAZADA, "Lazada"), (TIKTOK, "抖音")]
STATUS_EN = {"approved": ["approved", "confirmed"], "rejected": ["rejected", "declined"]}
STATUS_EN["pending"] = ["pending"]
STATUS_ZH = {"approved": ["审核通过", "已通过"], "rejected": ["已拒绝", "被拒绝"]}
STATUS_ZH["pending"] = ["待审核"]
BY_EN = {
    "offer": ["by offer", "per offer", "for each offer", "by merchant"],
    "partner": ["by partner", "per partner", "per affiliate", "by channel"],
    "day": ["by day", "daily", "per day"],
    "status": ["by status"],
}
BY_ZH = {
    "offer": ["按offer", "每个offer", "各商家", "按商家"],
    "partner": ["按渠道", "每个合作伙伴", "各渠道", "按合作伙伴"],
    "day": ["按天", "每天", "每日"],
    "status": ["按状态", "各状态"],
}
DIMS_EN = {"offer": ("offer", "offers"), "partner": ("partner", "partners")}
DIMS_ZH = {"offer": "商家", "partner": "渠道"}

COUNTS_AND_MONEY = ["conversions", "sales", "payout"]
ALL_METRICS = list(METRICS_EN)


@dataclass(frozen=True)
class Case:
    question: str
    spec: Spec
    template: str


def _product(*choices: Iterable[Any]) -> list[tuple[Any, ...]]:
    items: list[tuple[Any, ...]] = [()]
    for options in choices:
        items = [(*item, option) for item in items for option in options]
    return items


def _periods(table: dict[str, tuple[Period, list[str]]]) -> list[tuple[Period, str]]:
    return [(period, phrase) for period, phrases in table.values() for phrase in phrases]


def _metric_words(table: Words, keys: Iterable[str]) -> list[tuple[str, str]]:
    return [(key, word) for key in keys for word in table[key]]


# ---------------------------------------------------------------------------- templates
# Each yields (question, spec) for every combination of its slots; the corpus samples them.

Template = Callable[[], Iterator[tuple[str, Spec]]]


def t_measure_period() -> Iterator[tuple[str, Spec]]:
    orders_en = ["{m} {p}", "{p} {m}", "what were the {m} {p}", "show me {m} {p}", "{m} for {p}"]
    for (key, m), (period, p), form in _product(
        _metric_words(METRICS_EN, ALL_METRICS), _periods(PERIODS_EN), orders_en
    ):
        yield form.format(m=m, p=p), Spec(key, period)
    orders_zh = ["{p}的{m}", "{p}{m}是多少", "请问{p}{m}", "{m} {p}", "{p}一共的{m}"]
    for (key, m), (period, p), form in _product(
        _metric_words(METRICS_ZH, ALL_METRICS), _periods(PERIODS_ZH), orders_zh
    ):
        yield form.format(m=m, p=p), Spec(key, period)


def t_brand() -> Iterator[tuple[str, Spec]]:
    keys = ["conversions", "sales", "payout", "aov", "approval"]
    for (key, m), (period, p), (offers, b), form in _product(
        _metric_words(METRICS_EN, keys),
        _periods(PERIODS_EN),
        BRANDS_EN,
        ["{b} {m} {p}", "{m} for {b} {p}", "{p} {b} {m}", "{m} of {b} {p}"],
    ):
        yield form.format(m=m, p=p, b=b), Spec(key, period, offers=offers)
    for (key, m), (period, p), (offers, b), form in _product(
        _metric_words(METRICS_ZH, keys),
        _periods(PERIODS_ZH),
        BRANDS_ZH,
        ["{p}{b}的{m}", "{b} {p} {m}", "{b}{p}的{m}", "{p} {b} {m}是多少"],
    ):
        yield form.format(m=m, p=p, b=b), Spec(key, period, offers=offers)


def t_status() -> Iterator[tuple[str, Spec]]:
    keys = ["conversions", "sales", "payout"]
    statuses_en = [(s, w) for s, ws in STATUS_EN.items() for w in ws]
    for (key, m), (period, p), (status, s), form in _product(
        _metric_words(METRICS_EN, keys),
        _periods(PERIODS_EN),
        statuses_en,
        ["{s} {m} {p}", "{m} {p} with status {s}", "{p} {s} {m}"],
    ):
        yield form.format(m=m, p=p, s=s), Spec(key, period, status=status)
    statuses_zh = [(s, w) for s, ws in STATUS_ZH.items() for w in ws]
    for (key, m), (period, p), (status, s), form in _product(
        _metric_words(METRICS_ZH, keys),
        _periods(PERIODS_ZH),
        statuses_zh,
        ["{p}{s}的{m}", "{s}{m} {p}", "{p}状态为{s}的{m}"],
    ):
        yield form.format(m=m, p=p, s=s), Spec(key, period, status=status)


def t_breakdown() -> Iterator[tuple[str, Spec]]:
    keys = ["conversions", "sales", "payout", "approval", "aov"]
    for (key, m), (period, p), (dim, b), form in _product(
        _metric_words(METRICS_EN, keys),
        _periods(PERIODS_EN),
        [(d, w) for d, ws in BY_EN.items() for w in ws],
        ["{m} {b} {p}", "{p} {m} {b}", "show {m} {b} for {p}"],
    ):
        yield form.format(m=m, p=p, b=b), Spec(key, period, by=dim)
    for (key, m), (period, p), (dim, b), form in _product(
        _metric_words(METRICS_ZH, keys),
        _periods(PERIODS_ZH),
        [(d, w) for d, ws in BY_ZH.items() for w in ws],
        ["{p}{b}的{m}", "{b}{p}的{m}", "{p} {m} {b}"],
    ):
        yield form.format(m=m, p=p, b=b), Spec(key, period, by=dim)


def t_top() -> Iterator[tuple[str, Spec]]:
    for (key, m), (period, p), dim, n, form in _product(
        _metric_words(METRICS_EN, COUNTS_AND_MONEY),
        _periods(PERIODS_EN),
        list(DIMS_EN),
        [2, 3],
        ["top {n} {ds} by {m} {p}", "{p} top {n} {ds} by {m}", "which {d} had the most {m} {p}"],
    ):
        one_only = form.startswith("which")
        d, ds = DIMS_EN[dim]
        question = form.format(m=m, p=p, n=n, d=d, ds=ds)
        yield question, Spec(key, period, by=dim, top=1 if one_only else n)
    for (key, m), (period, p), dim, n, form in _product(
        _metric_words(METRICS_ZH, COUNTS_AND_MONEY),
        _periods(PERIODS_ZH),
        list(DIMS_ZH),
        [2, 3],
        ["{p}{m}最高的{n}个{d}", "{p}{m}前{n}的{d}", "{p}哪个{d}{m}最高"],
    ):
        one_only = "哪个" in form
        question = form.format(m=m, p=p, n=n, d=DIMS_ZH[dim])
        yield question, Spec(key, period, by=dim, top=1 if one_only else n)


PAIRS_EN = [
    (THIS_WEEK, LAST_WEEK, "this week", "last week"),
    (THIS_MONTH, LAST_MONTH, "this month", "last month"),
    (YESTERDAY, DAY_BEFORE, "yesterday", "the day before yesterday"),
    (TODAY, YESTERDAY, "today", "yesterday"),
]
PAIRS_ZH = [
    (THIS_WEEK, LAST_WEEK, "本周", "上周"),
    (THIS_MONTH, LAST_MONTH, "本月", "上个月"),
    (YESTERDAY, DAY_BEFORE, "昨天", "前天"),
    (TODAY, YESTERDAY, "今天", "昨天"),
]


def t_compare() -> Iterator[tuple[str, Spec]]:
    keys = ["conversions", "sales", "payout"]
    for (key, m), (now, before, p1, p0), form in _product(
        _metric_words(METRICS_EN, keys),
        PAIRS_EN,
        [
            "{m} {p1} vs {p0}",
            "{m} {p1} compared to {p0}",
            "{p1} vs {p0} {m}",
            "compare {m} {p1} with {p0}",
        ],
    ):
        yield form.format(m=m, p1=p1, p0=p0), Spec(key, now, previous=before)
    for (key, m), (now, before, p1, p0), form in _product(
        _metric_words(METRICS_ZH, keys),
        PAIRS_ZH,
        ["{p1}和{p0}的{m}对比", "{m}：{p1}对比{p0}", "{p1}{m}跟{p0}相比", "{p1}与{p0}{m}比较"],
    ):
        yield form.format(m=m, p1=p1, p0=p0), Spec(key, now, previous=before)


def t_unit() -> Iterator[tuple[str, Spec]]:
    keys = ["sales", "payout", "aov", "avg_payout"]
    for (key, m), (period, p), u, form in _product(
        _metric_words(METRICS_EN, keys),
        _periods(PERIODS_EN),
        ["USD", "usd", "US dollars"],
        ["{m} in {u} {p}", "{p} {m} in {u}", "{m} {p} ({u})"],
    ):
        yield form.format(m=m, p=p, u=u), Spec(key, period, unit="usd")
    for (key, m), (period, p), u, form in _product(
        _metric_words(METRICS_ZH, keys),
        _periods(PERIODS_ZH),
        ["美元", "美金"],
        ["{p}{m}（{u}）", "{p}的{u}{m}", "{p}{m} 用{u}"],
    ):
        yield form.format(m=m, p=p, u=u), Spec(key, period, unit="usd")


def t_share_by() -> Iterator[tuple[str, Spec]]:
    dims = ["status", "offer", "partner"]
    en_dims = {"status": "status", "offer": "offer", "partner": "partner"}
    for (period, p), dim, form in _product(
        _periods(PERIODS_EN),
        dims,
        [
            "share of conversions by {d} {p}",
            "{p} percentage of orders by {d}",
            "share of orders per {d} {p}",
        ],
    ):
        yield form.format(p=p, d=en_dims[dim]), Spec("share", period, by=dim)
    zh_dims = {"status": "状态", "offer": "商家", "partner": "渠道"}
    for (period, p), dim, form in _product(
        _periods(PERIODS_ZH),
        dims,
        ["{p}各{d}的订单占比", "{p}按{d}的转化占比", "{p}每个{d}的订单比例"],
    ):
        yield form.format(p=p, d=zh_dims[dim]), Spec("share", period, by=dim)


def t_status_rate() -> Iterator[tuple[str, Spec]]:
    rates = {"approved": "approval", "rejected": "rejection_rate", "pending": "pending_rate"}
    for (period, p), (status, s), form in _product(
        _periods(PERIODS_EN),
        [(s, w) for s, ws in STATUS_EN.items() for w in ws],
        [
            "what share of conversions were {s} {p}",
            "percentage of orders {s} {p}",
            "{p} share of orders that were {s}",
        ],
    ):
        yield form.format(p=p, s=s), Spec(rates[status], period)
    for (period, p), (status, s), form in _product(
        _periods(PERIODS_ZH),
        [(s, w) for s, ws in STATUS_ZH.items() for w in ws],
        ["{p}{s}的订单占比", "{p}{s}订单的比例", "{p}订单中{s}的比例"],
    ):
        yield form.format(p=p, s=s), Spec(rates[status], period)


def t_threshold() -> Iterator[tuple[str, Spec]]:
    currencies_en = [("usd", "USD"), ("myr", "MYR"), ("myr", "RM")]
    for (period, p), (unit, c), amount, form in _product(
        _periods(PERIODS_EN),
        currencies_en,
        [50, 200],
        [
            "orders with a {c} sale above {a} {p}",
            "how many conversions {p} had a sale over {a} {c}",
            "{p} conversions with {c} sale amount more than {a}",
        ],
    ):
        column_of = "sale_usd" if unit == "usd" else "sale_myr"
        where = _over(column_of, amount)
        yield form.format(p=p, c=c, a=amount), Spec("conversions", period, where=where)
    currencies_zh = [("usd", "美元"), ("myr", "令吉"), ("myr", "马币")]
    for (period, p), (unit, c), amount, form in _product(
        _periods(PERIODS_ZH),
        currencies_zh,
        [50, 200],
        [
            "{p}{c}订单金额大于{a}的订单数",
            "{p}销售额超过{a}{c}的订单数量",
            "{p}{c}销售额高于{a}的转化数",
        ],
    ):
        column_of = "sale_usd" if unit == "usd" else "sale_myr"
        where = _over(column_of, amount)
        yield form.format(p=p, c=c, a=amount), Spec("conversions", period, where=where)


def _over(column_of: str, amount: int) -> Callable[[Row], bool]:
    return lambda r: getattr(r, column_of) > Decimal(amount)


TYPOS_EN = {
    "conversions": ["conversoins", "convresions", "conversins"],
    "orders": ["ordres", "oders"],
    "sales": ["slaes", "saels"],
    "payout": ["paoyut", "payuot"],
}
TYPO_KEYS = {"conversions": "conversions", "orders": "conversions", "sales": "sales"}
TYPO_KEYS["payout"] = "payout"
TYPO_PERIODS = [(YESTERDAY, "yesterdya"), (YESTERDAY, "yestrday"), (LAST_WEEK, "last weeek")]
TYPO_PERIODS += [(THIS_MONTH, "this mnoth"), (TODAY, "todya")]


def t_filler_typos() -> Iterator[tuple[str, Spec]]:
    for (word, typos), (period, p), filler in _product(
        TYPOS_EN.items(),
        TYPO_PERIODS + _periods(PERIODS_EN)[:6],
        ["pls show me", "hey, what were the", "can you tell me the", "quick q:", "ok so"],
    ):
        for typo in typos:
            yield f"{filler} {typo} {p}", Spec(TYPO_KEYS[word], period)
    for (key, m), (period, p), form in _product(
        _metric_words(METRICS_ZH, ["conversions", "sales", "payout"]),
        _periods(PERIODS_ZH),
        [
            "麻烦帮我看一下{p}的{m}呗",
            "想知道{p}{m}大概多少",
            "{p}{m}是多少啊",
            "请问一下{p}的{m}到底有多少",
        ],
    ):
        yield form.format(m=m, p=p), Spec(key, period)


def t_average() -> Iterator[tuple[str, Spec]]:
    units_en = [("usd", "USD "), ("myr", "MYR "), ("myr", "")]
    for (period, p), (unit, u), (key, form) in _product(
        _periods(PERIODS_EN),
        units_en,
        [
            ("avg_payout", "average {u}payout per conversion {p}"),
            ("aov", "average {u}sale per order {p}"),
            ("avg_payout", "{p} avg {u}commission per order"),
            ("aov", "{p} mean {u}sales per conversion"),
        ],
    ):
        yield form.format(p=p, u=u), Spec(key, period, unit=unit)
    units_zh = [("usd", "美元"), ("myr", "令吉"), ("myr", "")]
    for (period, p), (unit, u), (key, form) in _product(
        _periods(PERIODS_ZH),
        units_zh,
        [("avg_payout", "{p}平均每单{u}佣金"), ("aov", "{p}每笔订单的平均{u}销售额")],
    ):
        yield form.format(p=p, u=u), Spec(key, period, unit=unit)


def t_mixed() -> Iterator[tuple[str, Spec]]:
    """Chinese and English in one question ("shopee 昨天 GMV")."""
    for (offers, b), (period, p), (key, m), form in _product(
        BRANDS_EN,
        _periods(PERIODS_ZH),
        _metric_words(METRICS_EN, ["conversions", "sales", "payout"]),
        ["{b} {p} {m}", "{p} {b} {m}", "{b} {m} {p}"],
    ):
        yield form.format(b=b, p=p, m=m), Spec(key, period, offers=offers)
    for (period, p), (key, m), form in _product(
        _periods(PERIODS_EN),
        _metric_words(METRICS_ZH, ["conversions", "sales", "payout"]),
        ["{m} {p}", "{p} 的{m}", "{p} {m} 按渠道"],
    ):
        spec = Spec(key, period, by="partner" if "渠道" in form else None)
        yield form.format(p=p, m=m), spec


TEMPLATES: dict[str, Template] = {
    "measure_period": t_measure_period,
    "brand": t_brand,
    "status": t_status,
    "breakdown": t_breakdown,
    "top": t_top,
    "compare": t_compare,
    "unit": t_unit,
    "share_by": t_share_by,
    "status_rate": t_status_rate,
    "threshold": t_threshold,
    "filler_typos": t_filler_typos,
    "average": t_average,
    "mixed": t_mixed,
}
# Chosen before the engine was run on any of them; never tuned on (5 of 13 templates).
HELD_OUT = frozenset({"status", "unit", "status_rate", "average", "mixed"})
TUNE = frozenset(TEMPLATES) - HELD_OUT
PER_TEMPLATE = 125


def generated(seed: int = 17) -> list[Case]:
    """Up to PER_TEMPLATE questions of each template, sampled reproducibly, each question
    once."""
    rng = random.Random(seed)
    seen: set[str] = set()
    cases = []
    for name, template in TEMPLATES.items():
        items = list(template())
        rng.shuffle(items)
        taken = 0
        for question, spec in items:
            if question.lower() in seen:
                continue
            seen.add(question.lower())
            cases.append(Case(question, spec, name))
            taken += 1
            if taken == PER_TEMPLATE:
                break
    return cases


# ---------------------------------------------------------------------------- by hand


def _h(question: str, metric: str, period: Period, **kw: Any) -> Case:
    return Case(question, Spec(metric, period, **kw), "by hand")


C, S, P = "conversions", "sales", "payout"
HAND: list[Case] = [
    # The issue's own examples.
    _h("今天的转化数量", C, TODAY),
    _h("前天的订单数量", C, DAY_BEFORE),
    _h("哪个offer上周卖得最好", S, LAST_WEEK, by="offer", top=1),
    _h("duplicate rate last week", "duplicate_rate", LAST_WEEK),
    _h("average USD payout per conversion this month", "avg_payout", THIS_MONTH, unit="usd"),
    _h("what share of conversions were approved this week", "approval", THIS_WEEK),
    _h(
        "How many conversions last month had a USD sale above 200?",
        C,
        LAST_MONTH,
        where=_over("sale_usd", 200),
    ),
    _h("top partner this month", C, THIS_MONTH, by="partner", top=1),
    _h("shopee 昨天 GMV", S, YESTERDAY, offers=SHOPEE),
    _h("请问昨天一共多少单", C, YESTERDAY),
    _h("please show me the number of orders yesterday", C, YESTERDAY),
    # Chinese, as typed.
    _h("今天多少单", C, TODAY),
    _h("今天出了几单", C, TODAY),
    _h("昨天单量", C, YESTERDAY),
    _h("昨天的单量是多少", C, YESTERDAY),
    _h("本周订单数量", C, THIS_WEEK),
    _h("这周一共多少单啊", C, THIS_WEEK),
    _h("上周总共成交了多少笔", C, LAST_WEEK),
    _h("本月到现在的订单数", C, THIS_MONTH),
    _h("这个月的销售额是多少", S, THIS_MONTH),
    _h("上个月GMV多少", S, LAST_MONTH),
    _h("上月成交额", S, LAST_MONTH),
    _h("昨天卖了多少钱", S, YESTERDAY),
    _h("今天的佣金", P, TODAY),
    _h("昨天赚了多少佣金", P, YESTERDAY),
    _h("本周的收益是多少", P, THIS_WEEK),
    _h("上周的提成", P, LAST_WEEK),
    _h("最近7天的客单价", "aov", LAST_7_DAYS),
    _h("最近30天平均订单金额", "aov", LAST_30_DAYS),
    _h("本月的审核通过率", "approval", THIS_MONTH),
    _h("上周通过率多少", "approval", LAST_WEEK),
    _h("这个月的拒绝率", "rejection_rate", THIS_MONTH),
    _h("上个月重复率是多少", "duplicate_rate", LAST_MONTH),
    _h("本周的重复回传有多少", "duplicates", THIS_WEEK),
    _h("昨天虾皮的订单", C, YESTERDAY, offers=SHOPEE),
    _h("shopee今天的单量", C, TODAY, offers=SHOPEE),
    _h("Shopee 本周 销售额", S, THIS_WEEK, offers=SHOPEE),
    _h("lazada 上周的佣金", P, LAST_WEEK, offers=LAZADA),
    _h("Lazada这个月卖得怎么样", S, THIS_MONTH, offers=LAZADA),
    _h("抖音昨天多少单", C, YESTERDAY, offers=TIKTOK),
    _h("tiktok shop 最近7天成交额", S, LAST_7_DAYS, offers=TIKTOK),
    _h("昨天审核通过的订单数", C, YESTERDAY, status="approved"),
    _h("本周待审核的订单有几单", C, THIS_WEEK, status="pending"),
    _h("上周被拒绝的订单数量", C, LAST_WEEK, status="rejected"),
    _h("这个月已通过的佣金", P, THIS_MONTH, status="approved"),
    _h("本月审核通过的销售额是多少", S, THIS_MONTH, status="approved"),
    _h("昨天每个offer的佣金", P, YESTERDAY, by="offer"),
    _h("上周各渠道的订单数", C, LAST_WEEK, by="partner"),
    _h("本月按渠道的销售额", S, THIS_MONTH, by="partner"),
    _h("最近7天每天的订单", C, LAST_7_DAYS, by="day"),
    _h("最近30天每日销售额", S, LAST_30_DAYS, by="day"),
    _h("本周按天的佣金", P, THIS_WEEK, by="day"),
    _h("这个月各状态的订单数", C, THIS_MONTH, by="status"),
    _h("上个月每个商家的客单价", "aov", LAST_MONTH, by="offer"),
    _h("本月各渠道的通过率", "approval", THIS_MONTH, by="partner"),
    _h("上周各商家的审核通过率", "approval", LAST_WEEK, by="offer"),
    _h("上周销售额最高的3个商家", S, LAST_WEEK, by="offer", top=3),
    _h("本月佣金前2的渠道", P, THIS_MONTH, by="partner", top=2),
    _h("这个月哪个渠道单量最多", C, THIS_MONTH, by="partner", top=1),
    _h("上个月哪个商家卖得最好", S, LAST_MONTH, by="offer", top=1),
    _h("今天哪个offer订单最多", C, TODAY, by="offer", top=1),
    _h("最近30天哪家渠道佣金最高", P, LAST_30_DAYS, by="partner", top=1),
    _h("本周和上周的订单数对比", C, THIS_WEEK, previous=LAST_WEEK),
    _h("这个月跟上个月比销售额", S, THIS_MONTH, previous=LAST_MONTH),
    _h("昨天和前天的佣金对比", P, YESTERDAY, previous=DAY_BEFORE),
    _h("今天对比昨天的单量", C, TODAY, previous=YESTERDAY),
    _h("各渠道本周和上周的订单对比", C, THIS_WEEK, previous=LAST_WEEK, by="partner"),
    _h("昨天的销售额（美元）", S, YESTERDAY, unit="usd"),
    _h("本月美元佣金", P, THIS_MONTH, unit="usd"),
    _h("上周用美元算的GMV", S, LAST_WEEK, unit="usd"),
    _h("本月各状态订单占比", "share", THIS_MONTH, by="status"),
    _h("上周各渠道的订单占比", "share", LAST_WEEK, by="partner"),
    _h("本周审核通过的订单占比", "approval", THIS_WEEK),
    _h("这个月被拒绝订单的比例", "rejection_rate", THIS_MONTH),
    _h("今天的重复率", "duplicate_rate", TODAY),
    _h("上个月每单平均佣金", "avg_payout", LAST_MONTH),
    _h("本月平均每单美元佣金", "avg_payout", THIS_MONTH, unit="usd"),
    _h("上周订单金额大于100令吉的订单数", C, LAST_WEEK, where=_over("sale_myr", 100)),
    _h("本月美元销售额超过50的订单有多少", C, THIS_MONTH, where=_over("sale_usd", 50)),
    _h("alpha media 昨天的订单", C, YESTERDAY, partner="alpha-media"),
    _h("渠道 beta deals 本月佣金", P, THIS_MONTH, partner="beta-deals"),
    _h("gamma net上周销售额", S, LAST_WEEK, partner="gamma-net"),
    _h("9月的订单数", C, SEPTEMBER),
    _h("九月份销售额", S, SEPTEMBER),
    _h("麻烦看下今天的订单", C, TODAY),
    _h("帮我查一下昨天的佣金呗", P, YESTERDAY),
    _h("我想知道上周一共卖了多少", S, LAST_WEEK),
    _h("昨天的转化是多少呀", C, YESTERDAY),
    _h("今天成交几笔了", C, TODAY),
    _h("本周的单数", C, THIS_WEEK),
    _h("上周 订单 数量", C, LAST_WEEK),
    _h("这周  的  销售额", S, THIS_WEEK),
    _h("昨天shopee单量多少", C, YESTERDAY, offers=SHOPEE),
    _h("近7天 虾皮 GMV", S, LAST_7_DAYS, offers=SHOPEE),
    _h("过去30天lazada的通过率", "approval", LAST_30_DAYS, offers=LAZADA),
    _h("本月 shopee 按天 订单", C, THIS_MONTH, offers=SHOPEE, by="day"),
    _h("最近七天各商家的销售额", S, LAST_7_DAYS, by="offer"),
    _h("上周每个渠道卖了多少", S, LAST_WEEK, by="partner"),
    _h("本月销量最高的商家", C, THIS_MONTH, by="offer", top=1),
    _h("上周销量", C, LAST_WEEK),
    # English, as typed.
    _h("orders today", C, TODAY),
    _h("how many orders today?", C, TODAY),
    _h("how many conversions did we get yesterday", C, YESTERDAY),
    _h("conversions yesterday pls", C, YESTERDAY),
    _h("total orders this week", C, THIS_WEEK),
    _h("number of conversions last week?", C, LAST_WEEK),
    _h("whats our GMV this month", S, THIS_MONTH),
    _h("sales last month", S, LAST_MONTH),
    _h("how much did we sell yesterday", S, YESTERDAY),
    _h("total sales amount in the last 7 days", S, LAST_7_DAYS),
    _h("commission today", P, TODAY),
    _h("how much commission did we earn last week", P, LAST_WEEK),
    _h("payouts this month?", P, THIS_MONTH),
    _h("AOV last 30 days", "aov", LAST_30_DAYS),
    _h("average order value this week", "aov", THIS_WEEK),
    _h("avg payout last month", "avg_payout", LAST_MONTH),
    _h("average commission per order this month", "avg_payout", THIS_MONTH),
    _h("approval rate this month", "approval", THIS_MONTH),
    _h("whats the approval rate last week", "approval", LAST_WEEK),
    _h("rejection rate this month", "rejection_rate", THIS_MONTH),
    _h("pending rate this week", "pending_rate", THIS_WEEK),
    _h("dupe rate this month", "duplicate_rate", THIS_MONTH),
    _h("how many duplicate postbacks last week", "duplicates", LAST_WEEK),
    _h("shopee orders yesterday", C, YESTERDAY, offers=SHOPEE),
    _h("Shopee sales this week", S, THIS_WEEK, offers=SHOPEE),
    _h("lazada commission last month", P, LAST_MONTH, offers=LAZADA),
    _h("how did tiktok shop do last week (sales)", S, LAST_WEEK, offers=TIKTOK),
    _h("approved conversions yesterday", C, YESTERDAY, status="approved"),
    _h("pending orders this week", C, THIS_WEEK, status="pending"),
    _h("rejected orders last month", C, LAST_MONTH, status="rejected"),
    _h("sales of approved orders this month", S, THIS_MONTH, status="approved"),
    _h("payout by offer yesterday", P, YESTERDAY, by="offer"),
    _h("conversions per partner last week", C, LAST_WEEK, by="partner"),
    _h("daily orders last 7 days", C, LAST_7_DAYS, by="day"),
    _h("sales per day this week", S, THIS_WEEK, by="day"),
    _h("orders by status this month", C, THIS_MONTH, by="status"),
    _h("approval rate by partner this month", "approval", THIS_MONTH, by="partner"),
    _h("aov by offer last month", "aov", LAST_MONTH, by="offer"),
    _h("top 3 offers by sales last week", S, LAST_WEEK, by="offer", top=3),
    _h("top 2 partners by payout this month", P, THIS_MONTH, by="partner", top=2),
    _h("best offer last week", C, LAST_WEEK, by="offer", top=1),
    _h("top offer by sales this month", S, THIS_MONTH, by="offer", top=1),
    _h("which partner had the most orders yesterday", C, YESTERDAY, by="partner", top=1),
    _h("which offer sold the most last month", S, LAST_MONTH, by="offer", top=1),
    _h("worst partner by sales last month", S, LAST_MONTH, by="partner", bottom=1),
    _h("bottom 2 offers by orders this month", C, THIS_MONTH, by="offer", bottom=2),
    _h("orders this week vs last week", C, THIS_WEEK, previous=LAST_WEEK),
    _h("sales this month compared to last month", S, THIS_MONTH, previous=LAST_MONTH),
    _h("payout today vs yesterday", P, TODAY, previous=YESTERDAY),
    _h("sales by offer this week vs last week", S, THIS_WEEK, previous=LAST_WEEK, by="offer"),
    _h("sales in USD yesterday", S, YESTERDAY, unit="usd"),
    _h("payout in dollars this month", P, THIS_MONTH, unit="usd"),
    _h("USD GMV last week", S, LAST_WEEK, unit="usd"),
    _h("share of conversions by status this month", "share", THIS_MONTH, by="status"),
    _h("% of orders by partner last week", "share", LAST_WEEK, by="partner"),
    _h("what percentage of orders were rejected this month", "rejection_rate", THIS_MONTH),
    _h("share of orders approved last week", "approval", LAST_WEEK),
    _h("orders over 100 MYR last week", C, LAST_WEEK, where=_over("sale_myr", 100)),
    _h("orders above RM 200 this month", C, THIS_MONTH, where=_over("sale_myr", 200)),
    _h("conversions with a USD sale over 50 yesterday", C, YESTERDAY, where=_over("sale_usd", 50)),
    _h("orders from alpha media today", C, TODAY, partner="alpha-media"),
    _h("beta deals sales last week", S, LAST_WEEK, partner="beta-deals"),
    _h("payout for partner gamma net this month", P, THIS_MONTH, partner="gamma-net"),
    _h("orders in september", C, SEPTEMBER),
    _h("sales for sept", S, SEPTEMBER),
    _h("hey whats the conversoins count yesterday", C, YESTERDAY),
    _h("slaes last week", S, LAST_WEEK),
    _h("paoyut this month", P, THIS_MONTH),
    _h("orders yesterdya", C, YESTERDAY),
    _h("show me ordres today", C, TODAY),
    _h("GMV   this   week", S, THIS_WEEK),
    _h("Orders Today", C, TODAY),
    _h("ORDERS YESTERDAY", C, YESTERDAY),
    _h("yesterday's orders", C, YESTERDAY),
    _h("this month's GMV", S, THIS_MONTH),
    _h("last week sales shopee", S, LAST_WEEK, offers=SHOPEE),
    _h("today shopee orders, by partner", C, TODAY, offers=SHOPEE, by="partner"),
    _h("can u tell me how many orders lazada got this week", C, THIS_WEEK, offers=LAZADA),
    _h("i need the payout number for last month asap", P, LAST_MONTH),
    _h("quick one: approval rate yesterday", "approval", YESTERDAY),
    _h("orders last 7 days per partner", C, LAST_7_DAYS, by="partner"),
    _h("sales by merchant this month", S, THIS_MONTH, by="offer"),
    _h("commission per affiliate last week", P, LAST_WEEK, by="partner"),
    _h("earnings per day this month", P, THIS_MONTH, by="day"),
    _h("total commission for approved orders last week", P, LAST_WEEK, status="approved"),
    _h("how many orders were declined yesterday", C, YESTERDAY, status="rejected"),
    _h("confirmed sales this week", S, THIS_WEEK, status="approved"),
    # Mixed Chinese and English.
    _h("昨天 conversions", C, YESTERDAY),
    _h("今天 orders 多少", C, TODAY),
    _h("shopee 本月 sales", S, THIS_MONTH, offers=SHOPEE),
    _h("lazada 上周 payout", P, LAST_WEEK, offers=LAZADA),
    _h("本周 GMV by partner", S, THIS_WEEK, by="partner"),
    _h("上周 top 3 offers 销售额", S, LAST_WEEK, by="offer", top=3),
    _h("approval rate 本月", "approval", THIS_MONTH),
    _h("last week 的订单数", C, LAST_WEEK),
    _h("yesterday 佣金", P, YESTERDAY),
    _h("本月 AOV", "aov", THIS_MONTH),
    _h("offer 维度 昨天 佣金", P, YESTERDAY, by="offer"),
    _h("最近7天 daily orders", C, LAST_7_DAYS, by="day"),
    _h("shopee 昨天的 orders", C, YESTERDAY, offers=SHOPEE),
    _h("本周 duplicate rate", "duplicate_rate", THIS_WEEK),
    _h("今天 approved 订单", C, TODAY, status="approved"),
    _h("上个月 rejection rate", "rejection_rate", LAST_MONTH),
    _h("这周 sales in USD", S, THIS_WEEK, unit="usd"),
    _h("本月 commission 按渠道", P, THIS_MONTH, by="partner"),
    _h("虾皮 last week GMV", S, LAST_WEEK, offers=SHOPEE),
    _h("上周 orders vs 本周", C, THIS_WEEK, previous=LAST_WEEK),
    _h("昨天每个offer的订单数量", C, YESTERDAY, by="offer"),
    _h("本周每个 partner 的单量", C, THIS_WEEK, by="partner"),
    _h("today's 销售额", S, TODAY),
    _h("今天 的 GMV 是 多少", S, TODAY),
    _h("Shopee 这个月 的 通过率", "approval", THIS_MONTH, offers=SHOPEE),
    _h("lazada 最近30天 客单价", "aov", LAST_30_DAYS, offers=LAZADA),
    _h("上周 各offer 订单占比", "share", LAST_WEEK, by="offer"),
    _h("昨天 平均 佣金", "avg_payout", YESTERDAY),
    _h("这个月 每单 平均 销售额", "aov", THIS_MONTH),
    _h("上周哪个 partner 最好", C, LAST_WEEK, by="partner", top=1),
    _h("本月 top partner", C, THIS_MONTH, by="partner", top=1),
    _h("最近7天 best offer by GMV", S, LAST_7_DAYS, by="offer", top=1),
    _h("昨天 alpha media 的订单", C, YESTERDAY, partner="alpha-media"),
    _h("本周 beta deals 佣金", P, THIS_WEEK, partner="beta-deals"),
    # Statuses, units, rates and averages said in other ways.
    _h("orders with status pending yesterday", C, YESTERDAY, status="pending"),
    _h("conversions whose status is rejected last week", C, LAST_WEEK, status="rejected"),
    _h("状态为待审核的订单 本周", C, THIS_WEEK, status="pending"),
    _h("状态是已拒绝的佣金 上个月", P, LAST_MONTH, status="rejected"),
    _h("sales in US dollars this week", S, THIS_WEEK, unit="usd"),
    _h("payout (USD) last month", P, LAST_MONTH, unit="usd"),
    _h("本月的佣金（美金）", P, THIS_MONTH, unit="usd"),
    _h("美金计的销售额 上周", S, LAST_WEEK, unit="usd"),
    _h("average order value in USD yesterday", "aov", YESTERDAY, unit="usd"),
    _h("percentage of orders pending this week", "pending_rate", THIS_WEEK),
    _h("share of conversions that were declined last month", "rejection_rate", LAST_MONTH),
    _h("what % of orders were approved yesterday", "approval", YESTERDAY),
    _h("本月待审核订单的占比", "pending_rate", THIS_MONTH),
    _h("上周订单里被拒绝的比例", "rejection_rate", LAST_WEEK),
    _h("mean payout per order last week", "avg_payout", LAST_WEEK),
    _h("average sale per conversion this month in USD", "aov", THIS_MONTH, unit="usd"),
    _h("上个月每笔订单平均佣金", "avg_payout", LAST_MONTH),
    _h("本周单均销售额", "aov", THIS_WEEK),
    _h("这周 orders 按 offer", C, THIS_WEEK, by="offer"),
    _h("yesterday 的 GMV", S, YESTERDAY),
    _h("lazada 本月 orders", C, THIS_MONTH, offers=LAZADA),
    _h("最近30天 payout by day", P, LAST_30_DAYS, by="day"),
    _h("pending conversions in the last 7 days", C, LAST_7_DAYS, status="pending"),
    _h("this week approved payout", P, THIS_WEEK, status="approved"),
    _h("payout in usd by partner last week", P, LAST_WEEK, unit="usd", by="partner"),
    _h("每个渠道上周的美元佣金", P, LAST_WEEK, unit="usd", by="partner"),
    _h("avg commission per conversion (USD) this month", "avg_payout", THIS_MONTH, unit="usd"),
    _h("平均每笔美金佣金 本月", "avg_payout", THIS_MONTH, unit="usd"),
    _h("今天 审核通过 的 订单 占比", "approval", TODAY),
    _h("approved share this month", "approval", THIS_MONTH),
    _h("rejected % last week", "rejection_rate", LAST_WEEK),
    _h("上周 sales（USD）", S, LAST_WEEK, unit="usd"),
    _h("本月 average payout", "avg_payout", THIS_MONTH),
    _h("shopee 上周 的 approval rate", "approval", LAST_WEEK, offers=SHOPEE),
    _h("declined orders this month", C, THIS_MONTH, status="rejected"),
    _h("orders still pending today", C, TODAY, status="pending"),
    _h("本周还在待审核的订单", C, THIS_WEEK, status="pending"),
    _h("sales today in usd please", S, TODAY, unit="usd"),
    _h("how much payout in US$ yesterday", P, YESTERDAY, unit="usd"),
    _h("average basket last week", "aov", LAST_WEEK),
    # English periods with Chinese measures and the other way round; more synonyms.
    _h("average USD sale per order last week", "aov", LAST_WEEK, unit="usd"),
    _h("avg sale per conversion yesterday", "aov", YESTERDAY),
    _h("mean commission per sale this month", "avg_payout", THIS_MONTH),
    _h("today average MYR payout per order", "avg_payout", TODAY),
    _h("上周平均每单令吉佣金", "avg_payout", LAST_WEEK),
    _h("今天每笔订单的平均美元销售额", "aov", TODAY, unit="usd"),
    _h("昨天每单平均销售额（美元）", "aov", YESTERDAY, unit="usd"),
    _h("tiktok shop 上个星期 sales", S, LAST_WEEK, offers=TIKTOK),
    _h("Shopee 今日 earnings", P, TODAY, offers=SHOPEE),
    _h("lazada number of orders 近7天", C, LAST_7_DAYS, offers=LAZADA),
    _h("past 7 days 佣金 按渠道", P, LAST_7_DAYS, by="partner"),
    _h("month to date 的成交额", S, THIS_MONTH),
    _h("over the last seven days 订单数", C, LAST_7_DAYS),
    _h("previous month 提成", P, LAST_MONTH),
    _h("current week 单量", C, THIS_WEEK),
    _h("this month 客单价 按渠道", "aov", THIS_MONTH, by="partner"),
    _h("GMV 这个月", S, THIS_MONTH),
    _h("earnings 上月 shopee", P, LAST_MONTH, offers=SHOPEE),
    _h("本月的美金客单价", "aov", THIS_MONTH, unit="usd"),
    _h("上周平均佣金 用美金", "avg_payout", LAST_WEEK, unit="usd"),
    _h("order value in US dollars last month", S, LAST_MONTH, unit="usd"),
    _h("turnover this week (USD)", S, THIS_WEEK, unit="usd"),
    _h("avg commission in usd previous week", "avg_payout", LAST_WEEK, unit="usd"),
    _h("share of orders that were pending in the last 30 days", "pending_rate", LAST_30_DAYS),
    _h("percentage of conversions declined month to date", "rejection_rate", THIS_MONTH),
    _h("今日被拒绝订单的比例", "rejection_rate", TODAY),
    _h("近30天订单中已通过的比例", "approval", LAST_30_DAYS),
    _h("上个星期待审核的订单占比", "pending_rate", LAST_WEEK),
    _h("transactions with status confirmed this month", C, THIS_MONTH, status="approved"),
    _h("earnings with status declined previous week", P, LAST_WEEK, status="rejected"),
    _h("上月状态为已通过的成交额", S, LAST_MONTH, status="approved"),
    _h("被拒绝提成 本月", P, THIS_MONTH, status="rejected"),
    _h("current week pending turnover", S, THIS_WEEK, status="pending"),
    _h("order count today with status pending", C, TODAY, status="pending"),
    _h("上周 order value 按商家", S, LAST_WEEK, by="offer"),
    _h("turnover by channel month to date", S, THIS_MONTH, by="partner"),
    _h("commission for each offer previous week", P, LAST_WEEK, by="offer"),
    _h("sale amount by offer today", S, TODAY, by="offer"),
    _h("sales amount per affiliate past 30 days", S, LAST_30_DAYS, by="partner"),
    _h("earnings in usd today", P, TODAY, unit="usd"),
]

# ---------------------------------------------------------------------------- follow-ups


@dataclass(frozen=True)
class Turn:
    question: str
    spec: Spec


@dataclass(frozen=True)
class Conversation:
    turns: tuple[Turn, ...]
    language: str


STARTS_EN = [
    ("sales last week", Spec(S, LAST_WEEK)),
    ("orders this month", Spec(C, THIS_MONTH)),
    ("payout yesterday", Spec(P, YESTERDAY)),
    ("shopee sales this week", Spec(S, THIS_WEEK, offers=SHOPEE)),
    ("conversions by partner last month", Spec(C, LAST_MONTH, by="partner")),
    ("approval rate this month", Spec("approval", THIS_MONTH)),
    ("lazada orders in the last 7 days", Spec(C, LAST_7_DAYS, offers=LAZADA)),
    ("GMV by offer this month", Spec(S, THIS_MONTH, by="offer")),
]
STARTS_ZH = [
    ("上周的销售额", Spec(S, LAST_WEEK)),
    ("本月订单数", Spec(C, THIS_MONTH)),
    ("昨天的佣金", Spec(P, YESTERDAY)),
    ("本周虾皮的销售额", Spec(S, THIS_WEEK, offers=SHOPEE)),
    ("上个月各渠道的订单数", Spec(C, LAST_MONTH, by="partner")),
    ("本月的审核通过率", Spec("approval", THIS_MONTH)),
    ("最近7天lazada的单量", Spec(C, LAST_7_DAYS, offers=LAZADA)),
    ("本月各商家的GMV", Spec(S, THIS_MONTH, by="offer")),
]

Change = Callable[[Spec], Spec | None]  # None: this follow-up does not fit that question


def _by(dim: str) -> Change:
    return lambda s: replace(s, by=dim)


def _offers(offers: frozenset[str]) -> Change:
    return lambda s: replace(s, offers=offers)


def _period(period: Period) -> Change:
    return lambda s: replace(s, period=period)


def _unit(unit: str) -> Change:
    return lambda s: replace(s, unit=unit) if s.metric in (S, P, "aov", "avg_payout") else None


def _metric(metric: str) -> Change:
    return lambda s: replace(s, metric=metric)


FOLLOW_EN: list[tuple[str, Change]] = [
    ("by day?", _by("day")),
    ("and by day?", _by("day")),
    ("per partner?", _by("partner")),
    ("by offer instead", _by("offer")),
    ("only shopee", _offers(SHOPEE)),
    ("just lazada", _offers(LAZADA)),
    ("and last week?", _period(LAST_WEEK)),
    ("what about yesterday?", _period(YESTERDAY)),
    ("and last month?", _period(LAST_MONTH)),
    ("in usd instead", _unit("usd")),
    ("in dollars?", _unit("usd")),
    ("what about payout?", _metric(P)),
    ("and sales?", _metric(S)),
    ("orders instead", _metric(C)),
]
FOLLOW_ZH: list[tuple[str, Change]] = [
    ("按天呢？", _by("day")),
    ("每天呢", _by("day")),
    ("按渠道呢？", _by("partner")),
    ("各商家呢", _by("offer")),
    ("只看 Shopee", _offers(SHOPEE)),
    ("只看虾皮", _offers(SHOPEE)),
    ("只看 lazada", _offers(LAZADA)),
    ("那上周呢？", _period(LAST_WEEK)),
    ("昨天呢？", _period(YESTERDAY)),
    ("上个月呢", _period(LAST_MONTH)),
    ("换成美元", _unit("usd")),
    ("用美元呢", _unit("usd")),
    ("佣金呢？", _metric(P)),
    ("销售额呢", _metric(S)),
    ("订单数呢", _metric(C)),
]


def conversations(seed: int = 1717, count: int = 120) -> list[Conversation]:
    """Two- and three-turn conversations: a question, then one or two follow-ups that fit
    it (a unit only for money, a change that changes something)."""
    rng = random.Random(seed)
    found: list[Conversation] = []
    seen: set[tuple[str, ...]] = set()
    while len(found) < count:
        language = "zh" if len(found) % 2 else "en"
        starts = STARTS_ZH if language == "zh" else STARTS_EN
        follows = FOLLOW_ZH if language == "zh" else FOLLOW_EN
        question, spec = rng.choice(starts)
        turns = [Turn(question, spec)]
        for _ in range(rng.choice([1, 2])):
            text, change = rng.choice(follows)
            changed = change(turns[-1].spec)
            if changed is None or changed == turns[-1].spec:
                break
            if changed.by == "day" and changed.metric == "share":
                break
            turns.append(Turn(text, changed))
        key = tuple(t.question for t in turns)
        if len(turns) < 2 or key in seen:
            continue
        seen.add(key)
        found.append(Conversation(tuple(turns), language))
    return found


def check(answer: Answer, spec: Spec) -> str | None:
    return expected(spec)(answer)
