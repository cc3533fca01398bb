"""The contract between the stages of the question engine: what can be asked (measures,
breakdowns, units), what the lexer hands the planner (tokens, time phrases, filters), the
query plan the planner hands `sqlgen` and `explain`, and the refusal any stage may raise.

The pipeline is lexer → planner → sqlgen → guard → repository → explain (see service.py);
every stage imports its types from here, so no stage needs another's module for a type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

Unit = Literal["myr", "usd", "local"]
Language = Literal["zh", "en"]

MAX_QUESTION_CHARS = 500
CONVERSIONS_VIEW = "reporting.conversions"
REJECTIONS_VIEW = "reporting.rejections"
DEFAULT_UNIT: Unit = "myr"

# ---------------------------------------------------------------------------- measures


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    zh: str
    en: str
    # Which money column it aggregates ("sale" or "payout"), None for counts and rates.
    money: Literal["sale", "payout"] | None = None
    source: Literal["conversions", "rejections"] = "conversions"

    def column_name(self, unit: Unit) -> str:
        return f"{self.key}_{unit}" if self.money else self.key


METRICS: dict[str, Metric] = {
    m.key: m
    for m in [
        Metric("conversions", "转化数", "conversions"),
        Metric("sales", "销售额", "sales", money="sale"),
        Metric("payout", "佣金", "payout", money="payout"),
        Metric("aov", "客单价（平均订单金额）", "average order value", money="sale"),
        Metric("avg_payout", "平均佣金", "average payout", money="payout"),
        Metric("daily_conversions", "日均转化数", "conversions per day"),
        Metric("daily_sales", "日均销售额", "sales per day", money="sale"),
        Metric("daily_payout", "日均佣金", "payout per day", money="payout"),
        Metric("approval_rate_pct", "审核通过率（%）", "approval rate (%)"),
        Metric("rejection_rate_pct", "拒绝率（%）", "rejection rate (%)"),
        Metric("pending_rate_pct", "待审核率（%）", "pending rate (%)"),
        Metric("duplicates", "重复回传数", "duplicate postbacks"),
        Metric("duplicate_rate_pct", "重复率（%）", "duplicate rate (%)"),
        Metric("conversions_share_pct", "转化数占比（%）", "share of conversions (%)"),
        Metric("sales_share_pct", "销售额占比（%）", "share of sales (%)", money="sale"),
        Metric("payout_share_pct", "佣金占比（%）", "share of payout (%)", money="payout"),
        Metric(
            "rejections",
            "被拒收的回传数",
            "rejected postbacks (refused at reception)",
            source="rejections",
        ),
    ]
}

# The share of conversions with a status, by metric key.
STATUS_RATES = {
    "approval_rate_pct": "approved",
    "rejection_rate_pct": "rejected",
    "pending_rate_pct": "pending",
}
# Each group's share of the total across the groups: of which measure.
SHARES = {
    "conversions_share_pct": "conversions",
    "sales_share_pct": "sales",
    "payout_share_pct": "payout",
}
# A total per day of the period, by metric key: of which measure.
PER_DAY = {
    "daily_conversions": "conversions",
    "daily_sales": "sales",
    "daily_payout": "payout",
}
PERCENT_METRICS = frozenset({*STATUS_RATES, "duplicate_rate_pct", *SHARES})

MONEY_COLUMNS = {
    ("sale", "myr"): "myr_sale_amount",
    ("sale", "usd"): "usd_sale_amount",
    ("sale", "local"): "sale_amount_local",
    ("payout", "myr"): "myr_payout",
    ("payout", "usd"): "usd_payout",
    ("payout", "local"): "payout_local",
}

UNIT_LABELS: dict[Unit, dict[Language, str]] = {
    "myr": {"zh": "MYR（令吉）", "en": "MYR"},
    "usd": {"zh": "USD（美元）", "en": "USD"},
    "local": {"zh": "交易本币", "en": "local currency"},
}

# ---------------------------------------------------------------------------- breakdowns


@dataclass(frozen=True, slots=True)
class Breakdown:
    key: str
    columns: tuple[str, ...]
    zh: str
    en: str
    time_unit: str | None = None  # hour, day, week, month for time buckets
    rejections: bool = False  # also available for rejections


SUB_COLUMNS = [
    "aff_sub",
    "aff_sub2",
    "aff_sub3",
    "aff_sub4",
    "adv_sub",
    "adv_sub2",
    "adv_sub3",
    "adv_sub4",
    "adv_sub5",
]

BREAKDOWNS: dict[str, Breakdown] = {
    b.key: b
    for b in [
        Breakdown("partner", ("partner",), "合作伙伴", "partner", rejections=True),
        Breakdown("offer", ("offer_id", "offer_name"), "offer", "offer"),
        Breakdown("offer_id", ("offer_id",), "offer ID", "offer id"),
        Breakdown("status", ("status",), "状态", "status"),
        Breakdown("currency", ("currency",), "币种", "currency"),
        Breakdown("reason", ("reason",), "拒收原因", "reason", rejections=True),
        Breakdown("hour", ("hour",), "小时", "hour", time_unit="hour", rejections=True),
        Breakdown("day", ("day",), "天", "day", time_unit="day", rejections=True),
        Breakdown("week", ("week",), "周", "week", time_unit="week", rejections=True),
        Breakdown("month", ("month",), "月", "month", time_unit="month", rejections=True),
        *(Breakdown(c, (c,), c, c) for c in SUB_COLUMNS),
    ]
}

STATUS_LABELS = {
    "approved": {"zh": "审核通过", "en": "approved"},
    "pending": {"zh": "待审核", "en": "pending"},
    "rejected": {"zh": "已拒绝", "en": "rejected"},
}

# ---------------------------------------------------------------------------- periods


@dataclass(frozen=True, slots=True)
class TimeRange:
    """[start, end) in the reporting timezone; `kind` tells how to find the period before."""

    start: datetime
    end: datetime
    kind: str  # day, week, month, year, rolling
    phrase: str


def period_days(period: TimeRange, asked_at: datetime | None) -> int:
    """The days of `period` a per-day figure divides by: its calendar days, up to and
    including the day it was asked on when the period runs on past it (this month on the
    3rd: 3)."""
    zone = period.start.tzinfo
    first = period.start.date()
    if asked_at is not None and asked_at < period.end:
        return max(1, (asked_at.astimezone(zone).date() - first).days + 1)
    end = period.end.astimezone(zone)
    return max(1, (end.date() - first).days + (0 if end.time() == time(0) else 1))


@dataclass(frozen=True, slots=True)
class TimeMatch:
    """A time phrase found in the question: where it stands, and the period it names."""

    span: tuple[int, int]
    range: TimeRange


# ---------------------------------------------------------------------------- names


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str | None
    name: str


@dataclass(frozen=True, slots=True)
class Partner:
    slug: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Names found in the data the asker may see."""

    offers: tuple[Offer, ...] = ()
    partners: tuple[Partner, ...] = ()


# ---------------------------------------------------------------------------- lexer → planner


@dataclass(frozen=True, slots=True)
class Filter:
    column: str
    op: Literal["=", "in", ">", ">=", "<", "<=", "ieq"]
    values: tuple[str | Decimal, ...]
    zh: str
    en: str


def currency_filter(code: str) -> Filter:
    upper = code.upper()
    return Filter("currency", "=", (upper,), f"币种 = {upper}", f"currency = {upper}")


@dataclass(frozen=True, slots=True)
class Token:
    """A word of the lexicon found in the question: its kind ("metric", "dimension",
    "status", "top", …), what it names (a metric key, a status, …) and where it stands."""

    kind: str
    value: str
    start: int
    end: int
    number: int | None = None


@dataclass(frozen=True, slots=True)
class Lexed:
    """A question as the lexer read it: every phrase recognised, nothing left unknown."""

    language: Language
    text: str  # normalised: the spans of the tokens and time phrases index into it
    times: list[TimeMatch]
    tokens: list[Token]
    names: list[Filter]  # offer ids, sub-ids, offers and partners named in the question
    thresholds: list[Filter]  # amounts per conversion ("over RM 100")
    implied: list[Filter]  # the currencies those amounts were written in
    now: datetime
    zone: ZoneInfo
    ignored: list[str] = field(default_factory=list)  # words nobody could place
    # Amounts without a currency or an amount word ("over 100"): which is not guessed.
    bare_amounts: list[Token] = field(default_factory=list)
    # Ignored words written as a name (capitalised, or next to "offer"/"渠道"): a filter
    # that cannot be applied, so not ignored.
    unknown_names: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- the plan


@dataclass
class Plan:
    language: Language
    metrics: list[Metric]
    unit: Unit = DEFAULT_UNIT
    breakdown: Breakdown | None = None
    filters: list[Filter] = field(default_factory=list)
    period: TimeRange | None = None
    previous: TimeRange | None = None  # set when two periods are compared
    rank: Literal["top", "bottom"] | None = None
    limit: int | None = None
    tenant_id: int | None = None
    currency_added: bool = False  # local amounts: broken down by currency automatically
    ignored: list[str] = field(default_factory=list)  # words of the question not used
    choices: list[Choice] = field(default_factory=list)  # other readings of the question
    follow_up: bool = False  # read against the previous question's plan
    asked_at: datetime | None = None  # when it was read: a per-day figure's days end there


# ---------------------------------------------------------------------------- refusals


@dataclass(frozen=True, slots=True)
class Choice:
    """Another reading of the question: what it means, and the question that asks it."""

    label: str
    question: str


class CannotAnswer(Exception):
    """The question is not understood well enough to answer it exactly."""

    def __init__(
        self,
        message: str,
        suggestions: list[str],
        language: Language,
        *,
        unknown: bool = False,
        choices: list[Choice] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions
        self.language = language
        # True when words were not recognised (fresher names from the data might help).
        self.unknown = unknown
        # The readings the asker may choose between, when the question has several.
        self.choices = choices or []


EXAMPLES = {
    "zh": [
        "昨天每个offer的佣金是多少？",
        "最近7天每天的转化数",
        "本周和上周的销售额对比",
        "上个月审核通过率最高的5个合作伙伴",
        "今天Shopee MY的订单数",
    ],
    "en": [
        "top 5 offers by sales last week",
        "conversions by day in the last 30 days",
        "approval rate by partner this month",
        "payout in USD yesterday vs the day before",
        "how many duplicate postbacks this week",
    ],
}


def refuse(
    language: Language,
    message_zh: str,
    message_en: str,
    *,
    unknown: bool = False,
    choices: list[Choice] | None = None,
) -> CannotAnswer:
    """The refusal in the question's language, with examples to try (its language first)."""
    message = message_zh if language == "zh" else message_en
    other: Language = "en" if language == "zh" else "zh"
    return CannotAnswer(
        message,
        EXAMPLES[language] + EXAMPLES[other][:2],
        language,
        unknown=unknown,
        choices=choices,
    )


# ---------------------------------------------------------------------------- plan as JSON


def _range_json(period: TimeRange | None) -> dict[str, str] | None:
    if period is None:
        return None
    return {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "kind": period.kind,
        "phrase": period.phrase,
    }


def _range_of(data: object) -> TimeRange | None:
    if not isinstance(data, dict):
        return None
    return TimeRange(
        datetime.fromisoformat(str(data["start"])),
        datetime.fromisoformat(str(data["end"])),
        str(data["kind"]),
        str(data["phrase"]),
    )


def plan_to_json(plan: Plan) -> dict[str, object]:
    """The plan as JSON (what a conversation keeps; what the LLM fallback writes)."""
    return {
        "language": plan.language,
        "measures": [m.key for m in plan.metrics],
        "unit": plan.unit,
        "breakdown": plan.breakdown.key if plan.breakdown is not None else None,
        "filters": [
            {
                "column": f.column,
                "op": f.op,
                "values": [{"number": str(v)} if isinstance(v, Decimal) else v for v in f.values],
                "zh": f.zh,
                "en": f.en,
            }
            for f in plan.filters
        ],
        "period": _range_json(plan.period),
        "previous": _range_json(plan.previous),
        "rank": plan.rank,
        "limit": plan.limit,
        "currency_added": plan.currency_added,
        "asked_at": plan.asked_at.isoformat() if plan.asked_at is not None else None,
    }


def plan_from_json(data: dict[str, Any], *, tenant_id: int | None) -> Plan:
    """The plan `plan_to_json` wrote, for `tenant_id`'s data. Raises KeyError or ValueError
    for anything that is not such a plan."""
    language = data["language"]
    if language not in ("zh", "en"):
        raise ValueError("language")
    unit = data["unit"]
    if unit not in UNIT_LABELS:
        raise ValueError("unit")
    filters = []
    for f in data["filters"]:
        values = tuple(Decimal(v["number"]) if isinstance(v, dict) else str(v) for v in f["values"])
        filters.append(Filter(str(f["column"]), f["op"], values, str(f["zh"]), str(f["en"])))
    breakdown = data["breakdown"]
    rank = data["rank"]
    if rank not in (None, "top", "bottom"):
        raise ValueError("rank")
    limit = data["limit"]
    return Plan(
        language,
        [METRICS[key] for key in data["measures"]],
        unit=unit,
        breakdown=BREAKDOWNS[breakdown] if breakdown is not None else None,
        filters=filters,
        period=_range_of(data["period"]),
        previous=_range_of(data["previous"]),
        rank=rank,
        limit=int(limit) if limit is not None else None,
        tenant_id=tenant_id,
        currency_added=bool(data.get("currency_added", False)),
        asked_at=datetime.fromisoformat(str(asked)) if (asked := data.get("asked_at")) else None,
    )
