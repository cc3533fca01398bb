"""A lexed question → a query plan, or CannotAnswer.

The planner runs `STEPS` in order over a draft of the plan. A step either reads something
from the question's words into the draft (a measure, the breakdown, filters, the periods,
the ranking) or checks a rule and returns the refusal, in Chinese and English, of a
question it cannot answer exactly ("one breakdown at a time", "a comparison needs
periods", …). The first refusal stops the planner: a question is refused rather than
answered as a different one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from postback.nlq import lexicon as words
from postback.nlq.plan import (
    BREAKDOWNS,
    DEFAULT_UNIT,
    METRICS,
    PER_DAY,
    SHARES,
    STATUS_LABELS,
    STATUS_RATES,
    Breakdown,
    Choice,
    Filter,
    Lexed,
    Plan,
    TimeMatch,
    TimeRange,
    Token,
    Unit,
    currency_filter,
    refuse,
)
from postback.nlq.timephrases import SAME_AS, earlier_alike, find_time_ranges, previous_period

DEFAULT_TOP = 10
# Dimension words that are part of a filter when the question names one of that kind
# ("offer Shopee MY", "渠道 acme", "status approved"): the column each names.
_FILTERED_BY = {"offer": "offer_name", "offer_id": "offer_id", "partner": "partner"}
_LEADS_TO_BREAKDOWN = ("by", "top", "bottom", "which", "most")
# What "week over week", "月环比" and the like compare with the period before, when the
# question names no period.
_THIS_PERIOD = {
    "week": ("本周", "this week"),
    "month": ("本月", "this month"),
    "day": ("今天", "today"),
}


class Refusal(NamedTuple):
    zh: str
    en: str
    unknown: bool = False
    choices: list[Choice] | None = None


@dataclass(slots=True)
class _Draft:
    """The plan being built, and what the question's words said on the way."""

    plan: Plan
    text: str
    tokens: list[Token]
    times: list[TimeMatch]
    lexed: Lexed
    named: set[str]  # columns the question filters by name (offer, offer id, partner)
    breakdowns: list[Breakdown] = field(default_factory=list)
    dangling: list[Token] = field(default_factory=list)  # dimensions that lead nowhere
    ranking: tuple[str, int | None] | None = None
    which: bool = False
    explicit_unit: Unit | None = None
    context: Plan | None = None  # the previous question's plan, when this one follows it

    def values(self, kind: str) -> list[str]:
        return [t.value for t in self.tokens if t.kind == kind]

    def has(self, kind: str) -> bool:
        return any(t.kind == kind for t in self.tokens)

    @property
    def money(self) -> bool:
        return any(m.money for m in self.plan.metrics)

    @property
    def currency_word(self) -> bool:
        """Whether the question speaks of the currency ("币种为", "结算", "currency")."""
        return self.has("currency_word") or any(
            t.kind == "dimension" and t.value == "currency" for t in self.dangling
        )

    @property
    def rejections(self) -> bool:
        return any(m.source == "rejections" for m in self.plan.metrics)


Step = Callable[[_Draft], Refusal | None]


def plan(lexed: Lexed, *, tenant_id: int | None = None, context: Plan | None = None) -> Plan:
    """The plan answering `lexed` within `tenant_id`'s data; with `context` (the previous
    question's plan), a follow-up ("按天呢？", "only Shopee", "and last week?") is read
    against it, while a question complete on its own starts over. Raises CannotAnswer."""
    draft = _Draft(
        plan=Plan(
            lexed.language,
            [],
            filters=list(lexed.names),
            tenant_id=tenant_id,
            ignored=list(lexed.ignored),
            asked_at=lexed.now,
        ),
        text=lexed.text,
        tokens=lexed.tokens,
        times=lexed.times,
        lexed=lexed,
        named={f.column for f in lexed.names},
    )
    if context is not None and follows_up(lexed):
        draft.context = context
        draft.plan.follow_up = True
    for step in STEPS:
        refusal = step(draft)
        if refusal is not None:
            raise refuse(
                lexed.language,
                refusal.zh,
                refusal.en,
                unknown=refusal.unknown,
                choices=refusal.choices,
            )
    return draft.plan


def follows_up(lexed: Lexed) -> bool:
    """Whether a question reads against the previous one: it lacks a measure or a period,
    or says so ("…呢", "只看", "换成", "and …", "what about …", "instead")."""
    has_measure = any(t.kind in ("metric", "share", "average") for t in lexed.tokens)
    return not has_measure or not lexed.times or bool(words.FOLLOW_UP.search(lexed.text))


def _rewritten(draft: _Draft, token: Token, replacement: str) -> str:
    """The question with `token`'s words replaced (for a choice's question)."""
    text = draft.text
    return " ".join((text[: token.start] + replacement + text[token.end :]).split())


# ---------------------------------------------------------------------------- not carried


def _names_are_known(draft: _Draft) -> Refusal | None:
    """A name nobody has (an offer or partner not in the asker's data) is not ignored: the
    answer would be about every offer or partner instead."""
    names = draft.lexed.unknown_names
    if not names:
        return None
    shown = " ".join(names)[:80]
    return Refusal(
        f"找不到名为“{shown}”的 offer 或合作伙伴（在你能查看的数据中）。",
        f"No offer or partner named “{shown}” in the data you can see.",
        unknown=True,
    )


def _not_carried(draft: _Draft) -> Refusal | None:
    """Clicks and impressions are not in postbacks; a conversion rate needs them, so the
    approval rate is offered; "revenue" is sales or payout, offered both."""
    zh = draft.plan.language == "zh"
    for t in draft.tokens:
        if t.kind == "clicks":
            return Refusal(
                "回传数据只包含转化，不包含点击、展示或访问，无法统计。",
                "Postbacks carry conversions only, not clicks, impressions or visits.",
            )
        if t.kind == "conversion_rate":
            label = (
                "审核通过率（审核通过的转化 / 全部转化）"
                if zh
                else "approval rate (approved conversions / all conversions)"
            )
            question = _rewritten(draft, t, "审核通过率" if zh else "approval rate")
            return Refusal(
                "转化率需要点击数，而回传数据不包含点击；可以改看审核通过率。",
                "A conversion rate needs clicks, which postbacks do not carry; the approval "
                "rate can be answered instead.",
                choices=[Choice(label, question)],
            )
    for t in draft.lexed.bare_amounts:
        amount = draft.text[t.start : t.end].strip()
        options = [("sale", "myr"), ("sale", "usd"), ("payout", "myr"), ("payout", "usd")]
        zh_words = {"sale": "订单金额", "payout": "佣金", "myr": "令吉", "usd": "美元"}
        choices = [
            Choice(
                f"每笔{zh_words[what]} {amount} {unit.upper()}"
                if zh
                else f"{what} per conversion {amount} {unit.upper()}",
                _rewritten(
                    draft,
                    t,
                    f"{zh_words[what]}{amount}{zh_words[unit]}"
                    if zh
                    else f"{what} {amount} {unit}",
                ),
            )
            for what, unit in options
        ]
        return Refusal(
            f"“{amount}”没有说明是订单金额还是佣金、用哪种货币，请选择。",
            f"“{amount}” does not say whether it is the sale amount or the payout, nor the "
            "currency: choose one.",
            choices=choices,
        )
    for t in draft.tokens:
        if t.kind == "revenue" and not draft.has("metric"):
            choices = [
                Choice(
                    "销售额（订单金额）" if zh else "sales (order amounts)",
                    _rewritten(draft, t, "销售额" if zh else "sales"),
                ),
                Choice(
                    "佣金（给合作伙伴的收益）" if zh else "payout (commission)",
                    _rewritten(draft, t, "佣金" if zh else "payout"),
                ),
            ]
            return Refusal(
                "“收入”可以指销售额或佣金，请选择一个。",
                "“Revenue” can mean sales or payout: choose one.",
                choices=choices,
            )
    return None


# ---------------------------------------------------------------------------- measures


def _orders_beside_a_measure(draft: _Draft) -> None:
    """ "orders" next to another measure usually names the rows ("payout of approved orders"),
    not a count: it is a measure of its own only as a count word ("订单数", "number of
    orders") or joined to the other measure ("orders and payout", "订单和佣金")."""
    metrics = [t for t in draft.tokens if t.kind == "metric"]
    if all(t.value == "conversions" for t in metrics):
        return
    text = draft.text

    def joined(t: Token) -> bool:
        i = metrics.index(t)
        neighbours = metrics[max(i - 1, 0) : i] + metrics[i + 1 : i + 2]
        return any(
            n.value != "conversions"
            and words.CONNECTOR.match(text[min(t.end, n.end) : max(t.start, n.start)])
            for n in neighbours
        )

    draft.tokens = [
        t
        for t in draft.tokens
        if not (
            t.kind == "metric"
            and t.value == "conversions"
            and not words.COUNT_FORM.search(text[t.start : t.end])
            and not joined(t)
        )
    ]


def _read_metrics(draft: _Draft) -> None:
    for key in draft.values("metric"):
        if METRICS[key] not in draft.plan.metrics:
            draft.plan.metrics.append(METRICS[key])
    if not draft.plan.metrics and draft.context is not None:
        # "按天呢", "只看 Shopee": the measure asked before. A rate or share asked before
        # is asked again of its base when the follow-up asks a share or average anew.
        draft.plan.metrics = list(draft.context.metrics)


def _a_measure_is_named(draft: _Draft) -> Refusal | None:
    plan = draft.plan
    if plan.metrics or plan.breakdown is not None or draft.ranking is not None or draft.which:
        return None
    if draft.has("share") and draft.has("status"):  # "approved share": of the conversions
        return None
    if draft.lexed.thresholds:  # "sales above 100 usd yesterday": the conversions counted
        return None
    return Refusal(
        "没有看出要统计的指标（转化数、销售额、佣金、客单价、通过率……）。",
        "No measure found (conversions, sales, payout, average order value, "
        "approval rate, duplicates, rejections …).",
        unknown=bool(draft.lexed.ignored),
    )


def _count_by_default(draft: _Draft) -> None:
    """ "top 5 offers", "which partner": conversions."""
    if not draft.plan.metrics:
        draft.plan.metrics = [METRICS["conversions"]]


# ---------------------------------------------------------------------------- breakdown


def _read_breakdown(draft: _Draft) -> None:
    """A dimension after by/per/each/按/每个/top N/which, or an adverb like "daily"; and the
    ranking words."""
    tokens = draft.tokens
    for i, t in enumerate(tokens):
        if t.kind == "self_breakdown":
            _add_breakdown(draft, BREAKDOWNS[t.value])
        elif t.kind == "dimension":
            lead = i > 0 and tokens[i - 1].kind in _LEADS_TO_BREAKDOWN
            if lead or _before_a_measure(draft, i):
                _add_breakdown(draft, BREAKDOWNS[t.value])
            else:
                draft.dangling.append(t)
        if t.kind in ("top", "bottom"):
            draft.ranking = (t.kind, t.number)
        elif t.kind == "most" and draft.ranking is None:
            draft.ranking = (t.value, None)
        elif t.kind == "which":
            draft.which = True
    draft.plan.breakdown = draft.breakdowns[0] if draft.breakdowns else None


def _add_breakdown(draft: _Draft, breakdown: Breakdown) -> None:
    if breakdown not in draft.breakdowns:
        draft.breakdowns.append(breakdown)


def _before_a_measure(draft: _Draft, i: int) -> bool:
    """Chinese "offer的佣金": a dimension right before a measure is what to break by."""
    t = draft.tokens[i]
    following = draft.tokens[i + 1] if i + 1 < len(draft.tokens) else None
    return (
        draft.plan.language == "zh"
        and following is not None
        and following.kind == "metric"
        and _FILTERED_BY.get(t.value) not in draft.named
    )


def _inherit_breakdown(draft: _Draft) -> None:
    """A follow-up keeps the breakdown and ranking asked before, unless it names its own,
    or asks the total ("合计呢", "overall")."""
    context = draft.context
    if context is None or draft.breakdowns:
        return
    if words.NO_BREAKDOWN.search(draft.text) or context.currency_added:
        return
    draft.plan.breakdown = context.breakdown
    if draft.ranking is None and context.rank is not None:
        draft.ranking = (context.rank, context.limit)


def _one_breakdown(draft: _Draft) -> Refusal | None:
    if len(draft.breakdowns) <= 1:
        return None
    return Refusal(
        "一次只能按一个维度拆分（例如只按 offer 或只按天）。",
        "Only one breakdown at a time (for example by offer, or by day).",
    )


def _breakdown_is_clear(draft: _Draft) -> Refusal | None:
    """A dimension word is either a breakdown or part of a filter of its kind ("offer
    Shopee MY", "渠道 acme", "status approved", "currency USD")."""
    money_named = draft.has("unit") or draft.has("currency")
    named = draft.named | ({"status"} if draft.has("status") else set())
    filtered_by = {**_FILTERED_BY, "status": "status"}
    unclear = [
        t
        for t in draft.dangling
        if not (t.value == "currency" and money_named)
        and filtered_by.get(t.value) not in named
        and not (
            draft.context is not None
            and words.ALL_OF.search(draft.text[max(0, t.start - 6) : t.start])
        )
    ]
    if not unclear:
        return None
    zh = draft.plan.language == "zh"
    choices = []
    for t in unclear[:3]:
        b = BREAKDOWNS[t.value]
        word = draft.text[t.start : t.end]
        choices.append(
            Choice(
                f"按{b.zh}拆分" if zh else f"by {b.en}",
                _rewritten(draft, t, f"按{word}" if zh else f"by {word}"),
            )
        )
    return Refusal(
        "不确定要按哪个维度统计：请写“按…”或“每个…”。",
        "Unclear what to break down by: say “by …” or “per …”.",
        choices=choices,
    )


# ---------------------------------------------------------------------------- money


def _read_unit(draft: _Draft) -> None:
    """The money unit asked for; "USD"/"MYR" with a currency word, or with a count, is the
    currency to filter on instead ("conversions in USD", "结算币种为美元")."""
    units = draft.values("unit")
    draft.explicit_unit = units[0] if units else None  # type: ignore[assignment]
    for unit in units:
        if unit in ("usd", "myr") and (draft.currency_word or not draft.money):
            draft.plan.filters.append(currency_filter(unit))
            draft.explicit_unit = None


def _one_money_unit(draft: _Draft) -> Refusal | None:
    if len(set(draft.values("unit"))) <= 1 or not draft.money or draft.currency_word:
        return None
    return Refusal(
        "一次只能用一种金额单位（MYR、USD 或本币）。",
        "One money unit at a time (MYR, USD or local currency).",
    )


def _read_currencies(draft: _Draft) -> None:
    """Currencies named, and those the amount thresholds were written in; several become
    one "currency is …" filter."""
    filters = draft.plan.filters
    for code in dict.fromkeys(draft.values("currency")):
        filters.append(currency_filter(code))
    filters += draft.lexed.implied
    codes = {f.values[0] for f in filters if f.column == "currency"}
    if len(codes) > 1:
        listed = tuple(sorted(str(c) for c in codes))
        filters[:] = [f for f in filters if f.column != "currency"]
        shown = ", ".join(listed)
        filters.append(Filter("currency", "in", listed, f"币种为 {shown}", f"currency is {shown}"))


def _money_unit(draft: _Draft) -> None:
    """The unit asked for, else MYR; a currency other than MYR/USD named with a money
    measure means local amounts ("SGD sales": amounts in SGD)."""
    codes = {v for f in draft.plan.filters if f.column == "currency" for v in f.values}
    inherited = draft.context.unit if draft.context is not None else None
    unit: Unit = draft.explicit_unit or inherited or DEFAULT_UNIT
    if draft.explicit_unit is None and codes - {"USD", "MYR"} and draft.money:
        unit = "local"
    draft.plan.unit = unit


def _local_is_for_money(draft: _Draft) -> Refusal | None:
    if draft.explicit_unit != "local" or draft.money:
        return None
    return Refusal("“本币”只适用于金额类指标。", "“Local currency” applies to money measures only.")


# ---------------------------------------------------------------------------- filters


def _read_statuses(draft: _Draft) -> None:
    for code in dict.fromkeys(draft.values("status")):
        label = STATUS_LABELS[code]
        draft.plan.filters.append(
            Filter("status", "=", (code,), f"状态 = {label['zh']}", f"status = {label['en']}")
        )


def _one_status(draft: _Draft) -> Refusal | None:
    if len(set(draft.values("status"))) <= 1:
        return None
    return Refusal(
        "一次只能筛选一种状态；要看全部状态请用“按状态”。",
        "One status at a time; ask “by status” to see them all.",
    )


def _rates_and_averages(draft: _Draft) -> Refusal | None:
    """ "average … per conversion" averages a money measure; "share"/"占比" is the share of
    a status ("what share of conversions were approved": the approval rate) or each group's
    share of the total ("share of conversions by status")."""
    plan = draft.plan
    if draft.has("average"):
        swap = {"sales": "aov", "payout": "avg_payout"}
        plan.metrics = list(dict.fromkeys(METRICS[swap.get(m.key, m.key)] for m in plan.metrics))
    if not draft.has("share") or any(m.key.endswith("_pct") for m in plan.metrics):
        return None
    statuses = [f for f in plan.filters if f.column == "status" and f.op == "="]
    if statuses and all(m.key == "conversions" for m in plan.metrics):
        status = statuses[0].values[0]
        plan.filters.remove(statuses[0])
        plan.metrics = [METRICS[next(k for k, v in STATUS_RATES.items() if v == status)]]
        return None
    shares = {base: key for key, base in SHARES.items()}
    if plan.breakdown is not None and all(m.key in shares for m in plan.metrics):
        plan.metrics = [METRICS[shares[m.key]] for m in plan.metrics]
        return None
    zh = plan.language == "zh"
    share = next(t for t in draft.tokens if t.kind == "share")
    text = draft.text
    return Refusal(
        "“占比”需要说明是哪种状态的占比，或按什么拆分。",
        "“Share” needs a status (“share approved”) or a breakdown (“share by offer”).",
        choices=[
            Choice(
                "按状态的占比" if zh else "share by status",
                " ".join(
                    f"{text[: share.end]} {'按状态' if zh else 'by status'} "
                    f"{text[share.end :]}".split()
                ),
            ),
            Choice(
                "按 offer 的占比" if zh else "share by offer",
                " ".join(
                    f"{text[: share.end]} {'按offer' if zh else 'by offer'} "
                    f"{text[share.end :]}".split()
                ),
            ),
        ],
    )


def _per_day(draft: _Draft) -> Refusal | None:
    """ "日均订单", "daily average sales": the total divided by the period's days."""
    plan = draft.plan
    if not draft.has("per_day") and not any(m.key in PER_DAY for m in plan.metrics):
        return None
    if any(m.key not in PER_DAY.values() and m.key not in PER_DAY for m in plan.metrics):
        return Refusal(
            "“日均”只适用于转化数、销售额和佣金。",
            "“Per day” applies to conversions, sales and payout only.",
        )
    if plan.period is None:
        return Refusal(
            "“日均”需要一个时间段，例如“最近30天的日均订单”。",
            "A daily average needs a period, e.g. “daily average orders in the last 30 days”.",
        )
    if plan.breakdown is not None and plan.breakdown.time_unit is not None:
        return Refusal(
            "按时间拆分时每一行就是那段时间的合计；“日均”请按 offer、合作伙伴等拆分。",
            "Broken down by time, each row is already that time's total; ask a daily "
            "average by offer, partner or status.",
        )
    per_day = {base: key for key, base in PER_DAY.items()}
    plan.metrics = list(dict.fromkeys(METRICS[per_day.get(m.key, m.key)] for m in plan.metrics))
    return None


def _read_thresholds(draft: _Draft) -> None:
    draft.plan.filters += draft.lexed.thresholds


_FILTER_GROUPS = {"offer_name": "offer", "offer_id": "offer"}


def _inherit_filters(draft: _Draft) -> None:
    """A follow-up keeps the filters asked before, but one it names of the same kind
    ("只看 Shopee" after Lazada) replaces the old; "all offers"/"所有渠道" drops it."""
    context = draft.context
    if context is None:
        return
    plan = draft.plan

    def group(column: str) -> str:
        return _FILTER_GROUPS.get(column, column)

    named = {group(f.column) for f in plan.filters}
    named |= {
        group(_FILTERED_BY.get(t.value, t.value))
        for t in draft.dangling
        if words.ALL_OF.search(draft.text[max(0, t.start - 6) : t.start])
    }
    kept = [f for f in context.filters if group(f.column) not in named]
    # A rate of a status asked now: the status filter asked before no longer applies.
    if any(m.key in STATUS_RATES for m in plan.metrics):
        kept = [f for f in kept if f.column != "status"]
    plan.filters = kept + plan.filters


# ---------------------------------------------------------------------------- periods


def _period_of_a_compare_word(draft: _Draft) -> None:
    """ "week over week" alone compares this week with the one before."""
    if draft.times or (draft.context is not None and draft.context.period is not None):
        return
    units = [t.value for t in draft.tokens if t.kind == "compare" and t.value]
    if units:
        zh, en = _THIS_PERIOD[units[0]]
        phrase = zh if draft.plan.language == "zh" else en
        draft.times = find_time_ranges(phrase, draft.lexed.now, draft.lexed.zone)


def _at_most_two_periods(draft: _Draft) -> Refusal | None:
    if len(draft.times) <= 2:
        return None
    return Refusal("时间段太多：最多比较两个时间段。", "Too many periods: compare at most two.")


def _alike(draft: _Draft) -> TimeMatch | None:
    """The "上周同期"/"same day last week" of the question, if it has one."""
    return next((m for m in draft.times if m.range.kind in SAME_AS), None)


def _two_periods_are_compared(draft: _Draft) -> Refusal | None:
    if len(draft.times) != 2 or draft.has("compare") or _alike(draft) is not None:
        return None
    return Refusal(
        "有两个时间段：要对比请写“对比”或“vs”。",
        "Two periods found: say “vs” or “compared to” to compare them.",
    )


def _a_comparison_has_periods(draft: _Draft) -> Refusal | None:
    if draft.times or not draft.has("compare"):
        return None
    if any(f.column in _NAMES_BREAKDOWN and len(f.values) >= 2 for f in draft.plan.filters):
        return None  # names compared
    if draft.context is not None and draft.context.period is not None:
        return None
    return Refusal(
        "对比需要时间段，例如“本周和上周对比”。",
        "A comparison needs periods, e.g. “this week vs last week”.",
    )


# The breakdown that sets side by side the names a filter lists ("Lazada 和 Shopee 对比").
_NAMES_BREAKDOWN = {"offer_name": "offer", "offer_id": "offer_id", "partner": "partner"}


def _names_compared(draft: _Draft) -> bool:
    """ "lazada和shopee上周的销售额对比", "shopee vs lazada sales": two or more names of one
    kind with a compare word and at most one period compare the names (by that dimension),
    not the period with the one before."""
    plan = draft.plan
    if not draft.has("compare") or len(draft.times) > 1 or plan.breakdown is not None:
        return False
    for f in plan.filters:
        if f.column in _NAMES_BREAKDOWN and f.op == "in" and len(f.values) >= 2:
            plan.breakdown = BREAKDOWNS[_NAMES_BREAKDOWN[f.column]]
            return True
    return False


def _read_periods(draft: _Draft) -> None:
    """One period, or two compared (the earlier is the previous one); one period with a
    compare word is compared with the period before it, unless the question compares names
    (`_names_compared`)."""
    plan = draft.plan
    alike = _alike(draft)
    if alike is not None and not _names_compared(draft):
        # "昨天和上周同期对比", "this week vs the same period last week": the other period
        # against the same stretch that long before (alone: today, or the period asked
        # before in a follow-up).
        others = [m.range for m in draft.times if m is not alike]
        if others:
            base: TimeRange | None = others[0]
        elif draft.context is not None and draft.context.period is not None:
            base = _in_language(draft.context.period, draft)
        else:
            today = "今天" if plan.language == "zh" else "today"
            base = find_time_ranges(today, draft.lexed.now, draft.lexed.zone)[0].range
        assert base is not None
        plan.period = base
        earlier = earlier_alike(base, alike.range.kind, draft.lexed.now)
        plan.previous = TimeRange(earlier.start, earlier.end, earlier.kind, alike.range.phrase)
        return
    if _names_compared(draft):
        if draft.times:
            plan.period = draft.times[0].range
        elif draft.context is not None:
            plan.period = _in_language(draft.context.period, draft)
        return
    if len(draft.times) == 2:
        first, second = sorted((m.range for m in draft.times), key=lambda r: r.start)
        plan.period, plan.previous = second, first
    elif len(draft.times) == 1:
        plan.period = draft.times[0].range
        if draft.has("compare"):
            plan.previous = previous_period(plan.period)
    elif draft.context is not None:
        # A follow-up without a period: the period asked before (its comparison too, unless
        # the follow-up now breaks down by time).
        plan.period = _in_language(draft.context.period, draft)
        plan.previous = _in_language(draft.context.previous, draft)
        by_time = plan.breakdown is not None and plan.breakdown.time_unit is not None
        if by_time and not draft.has("compare"):
            plan.previous = None
        if plan.previous is None and draft.has("compare") and plan.period is not None:
            plan.previous = previous_period(plan.period)


def _in_language(period: TimeRange | None, draft: _Draft) -> TimeRange | None:
    """A period asked before, its phrase dropped when asked in the other language."""
    if period is None or draft.context is None:
        return period
    if draft.context.language == draft.plan.language:
        return period
    return TimeRange(period.start, period.end, period.kind, "")


# Words of time: a question with one of them left unplaced is not answered for another
# period ("上上周" is not "上周"; "this fiscal quarter" is not all time).
_TIME_WORD = re.compile(
    r"季|周末|星期|礼拜|小时|分钟|[年月周天日号]|quarter|weekend|week|month|year|\bdays?\b"
    r"|hours?|minutes?|yesterday|today|tomorrow|\bago\b|fortnight|holiday|season"
    r"|^(?:上|下|明|后)+$"
)


def _no_time_word_left(draft: _Draft) -> Refusal | None:
    left = [w for w in draft.plan.ignored if _TIME_WORD.search(w)]
    if not left:
        return None
    word = left[0]
    return Refusal(
        f"无法确定时间段：不理解“{word}”。可以写“上周”“最近30天”“11月1日到11月7日”。",
        f"The period cannot be determined: “{word}” is not understood. Try “last week”, "
        "“last 30 days” or “from 2026-11-01 to 2026-11-07”.",
        unknown=True,
    )


def _periods_apart(draft: _Draft) -> Refusal | None:
    plan = draft.plan
    if len(draft.times) != 2 or plan.previous is None or plan.period is None:
        return None
    if plan.previous.end <= plan.period.start:
        return None
    return Refusal("两个对比的时间段有重叠。", "The two periods overlap.")


def _comparison_not_by_time(draft: _Draft) -> Refusal | None:
    breakdown = draft.plan.breakdown
    if draft.plan.previous is None or breakdown is None or not breakdown.time_unit:
        return None
    return Refusal(
        "对比两个时间段时不能再按时间拆分。",
        "A comparison of two periods cannot also be broken down by time.",
    )


# ---------------------------------------------------------------------------- ranking


def _ranking_has_a_breakdown(draft: _Draft) -> Refusal | None:
    if draft.ranking is None or draft.plan.breakdown is not None:
        return None
    return Refusal(
        "排名需要一个维度，例如“销售额前5的offer”。",
        "Ranking needs a breakdown, e.g. “top 5 offers by sales”.",
    )


def _read_ranking(draft: _Draft) -> None:
    """Top/bottom N; "top offers" without N is ten; a superlative ("the offer with the
    most conversions") is one."""
    if draft.ranking is None:
        return
    direction, n = draft.ranking
    plan = draft.plan
    plan.rank = "bottom" if direction == "bottom" else "top"
    if n is not None:
        plan.limit = n
    elif (draft.has("top") or draft.has("bottom")) and not _one_named(draft):
        plan.limit = DEFAULT_TOP
    else:
        plan.limit = 1


def _one_named(draft: _Draft) -> bool:
    """ "top partner", "best offer": the dimension, an English word in the singular, asks
    for one ("top partners", "排名靠前的渠道": ten)."""
    dims = [draft.text[t.start : t.end] for t in draft.tokens if t.kind == "dimension"]
    return bool(dims) and all(w.isascii() and not w.endswith("s") for w in dims)


def _ranking_in_range(draft: _Draft) -> Refusal | None:
    limit = draft.plan.limit
    if limit is None or 1 <= limit <= 1000:
        return None
    return Refusal("名次数量应在 1 到 1000 之间。", "Top/bottom N must be between 1 and 1000.")


# ---------------------------------------------------------------------------- sources


def _reason_is_for_rejections(draft: _Draft) -> Refusal | None:
    breakdown = draft.plan.breakdown
    if draft.rejections or breakdown is None or breakdown.key != "reason":
        return None
    return Refusal("“原因”只适用于被拒收的回传。", "“Reason” applies to rejected postbacks only.")


def _duplicates_with_conversions_only(draft: _Draft) -> Refusal | None:
    plan = draft.plan
    if draft.rejections or not any(m.key == "duplicates" for m in plan.metrics):
        return None
    if not any(f.column == "status" for f in plan.filters) and all(
        m.key in ("duplicates", "conversions") for m in plan.metrics
    ):
        return None
    return Refusal(
        "重复回传只能和转化数一起统计，且不能按状态筛选。",
        "Duplicates can be counted with conversions only, without a status filter.",
    )


def _rejections_alone(draft: _Draft) -> Refusal | None:
    if not draft.rejections or len(draft.plan.metrics) == 1:
        return None
    return Refusal("被拒收的回传要单独统计。", "Ask about rejected postbacks on their own.")


def _rejections_breakdown(draft: _Draft) -> Refusal | None:
    breakdown = draft.plan.breakdown
    if not draft.rejections or breakdown is None or breakdown.rejections:
        return None
    return Refusal(
        "被拒收的回传只能按合作伙伴、原因或时间统计。",
        "Rejected postbacks can be broken down by partner, reason or time only.",
    )


def _rejections_filters(draft: _Draft) -> Refusal | None:
    if not draft.rejections or all(f.column == "partner" for f in draft.plan.filters):
        return None
    return Refusal(
        "被拒收的回传只能按时间和合作伙伴筛选。",
        "Rejected postbacks can be filtered by time and partner only.",
    )


# ---------------------------------------------------------------------------- local amounts


def _local_amounts_unmixed(draft: _Draft) -> bool:
    """Whether local amounts are of one currency: not local, one currency filtered on, or
    broken down by currency."""
    plan = draft.plan
    if plan.unit != "local" or not draft.money:
        return True
    if any(f.column == "currency" and f.op == "=" for f in plan.filters):
        return True
    return plan.breakdown is not None and plan.breakdown.key == "currency"


def _local_amounts_of_one_currency(draft: _Draft) -> Refusal | None:
    if _local_amounts_unmixed(draft) or draft.plan.breakdown is None:
        return None
    return Refusal(
        "不同币种的本币金额不能相加：请指定币种，或按币种统计。",
        "Local amounts in different currencies cannot be added: name a "
        "currency, or ask by currency.",
    )


def _local_amounts_by_currency(draft: _Draft) -> None:
    """Local amounts asked without a breakdown are given per currency."""
    if not _local_amounts_unmixed(draft):
        draft.plan.breakdown = BREAKDOWNS["currency"]
        draft.plan.currency_added = True


def _other_units(draft: _Draft) -> None:
    """Money asked without a unit is answered in MYR, the reporting currency; USD (and local
    amounts, where they can be given) are offered as choices rather than guessed."""
    plan = draft.plan
    if not draft.money or draft.explicit_unit is not None:
        return
    if any(f.column == "currency" for f in plan.filters):
        return
    zh = plan.language == "zh"
    text = " ".join(draft.text.split())
    plan.choices.append(
        Choice("用美元（USD）" if zh else "in USD", f"{text} {'美元' if zh else 'in usd'}")
    )
    if plan.breakdown is None and plan.previous is None:
        plan.choices.append(
            Choice(
                "按币种，用交易本币" if zh else "in local currency, by currency",
                f"{text} {'本币' if zh else 'in local currency'}",
            )
        )


STEPS: tuple[Step, ...] = (
    _not_carried,
    _names_are_known,
    _orders_beside_a_measure,
    _period_of_a_compare_word,
    _read_metrics,
    _read_breakdown,
    _inherit_breakdown,
    _one_breakdown,
    _a_measure_is_named,
    _breakdown_is_clear,
    _count_by_default,
    _read_unit,
    _one_money_unit,
    _read_currencies,
    _money_unit,
    _local_is_for_money,
    _read_statuses,
    _one_status,
    _rates_and_averages,
    _read_thresholds,
    _inherit_filters,
    _at_most_two_periods,
    _two_periods_are_compared,
    _a_comparison_has_periods,
    _read_periods,
    _no_time_word_left,
    _per_day,
    _periods_apart,
    _ranking_has_a_breakdown,
    _read_ranking,
    _ranking_in_range,
    _reason_is_for_rejections,
    _duplicates_with_conversions_only,
    _rejections_alone,
    _rejections_breakdown,
    _rejections_filters,
    _local_amounts_of_one_currency,
    _local_amounts_by_currency,
    _comparison_not_by_time,
    _other_units,
)


# ---------------------------------------------------------------------------- whole plans


def _ranked_by_a_breakdown(draft: _Draft) -> Refusal | None:
    if draft.plan.rank is None or draft.plan.breakdown is not None:
        return None
    return Refusal(
        "排名需要一个维度，例如“按 offer”。", "Ranking needs a breakdown, e.g. “by offer”."
    )


def _shares_by_a_breakdown(draft: _Draft) -> Refusal | None:
    if draft.plan.breakdown is not None or not any(m.key in SHARES for m in draft.plan.metrics):
        return None
    return Refusal(
        "“占比”需要一个维度，例如“按 offer”。", "A share needs a breakdown, e.g. “by offer”."
    )


# The rules a whole plan meets, whatever words asked it: what `check` applies to a plan
# changed directly (the chips on /ask) rather than asked in words.
def _per_day_checked(draft: _Draft) -> Refusal | None:
    """A per-day figure of a plan changed directly: a period, not broken down by time."""
    if not any(m.key in PER_DAY for m in draft.plan.metrics):
        return None
    return _per_day(draft)


CHECKS: tuple[Step, ...] = (
    _per_day_checked,
    _ranked_by_a_breakdown,
    _shares_by_a_breakdown,
    _ranking_in_range,
    _reason_is_for_rejections,
    _duplicates_with_conversions_only,
    _rejections_alone,
    _rejections_breakdown,
    _rejections_filters,
    _local_amounts_of_one_currency,
    _local_amounts_by_currency,
    _comparison_not_by_time,
)


def check(plan: Plan, *, now: datetime, zone: ZoneInfo) -> Plan:
    """`plan` when it meets the rules of a whole plan (local amounts given by currency when
    they are not of one currency). Raises CannotAnswer."""
    lexed = Lexed(plan.language, "", [], [], [], [], [], now, zone)
    draft = _Draft(plan=plan, text="", tokens=[], times=[], lexed=lexed, named=set())
    for step in CHECKS:
        refusal = step(draft)
        if refusal is not None:
            raise refuse(plan.language, refusal.zh, refusal.en)
    return plan
