"""What the engine understood, said back in the question's language, and the chart that
suits the answer."""

from __future__ import annotations

from datetime import datetime

from postback.nlq.plan import (
    BREAKDOWNS,
    PER_DAY,
    PERCENT_METRICS,
    SHARES,
    STATUS_LABELS,
    STATUS_RATES,
    UNIT_LABELS,
    Metric,
    Plan,
    TimeRange,
    period_days,
)
from postback.nlq.schemas import Chart


def _when(period: TimeRange, zone: str, language: str) -> str:
    start, end = _stamp(period.start), _stamp(period.end)
    phrase = f"{period.phrase}，" if period.phrase and language == "zh" else ""
    if language == "zh":
        return f"{phrase}{start} 至 {end}（不含结束时刻，{zone}）"
    phrase = f"{period.phrase}, " if period.phrase else ""
    return f"{phrase}{start} to {end} (end excluded, {zone})"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def metric_label(metric: Metric, plan: Plan, language: str) -> str:
    label = metric.zh if language == "zh" else metric.en
    if metric.money and metric.key not in SHARES:
        unit = plan.unit
        currency = [f for f in plan.filters if f.column == "currency" and f.op == "="]
        unit_label = (
            str(currency[0].values[0])
            if unit == "local" and currency
            else UNIT_LABELS[unit]["zh" if language == "zh" else "en"]
        )
        label += f"（{unit_label}）" if language == "zh" else f" ({unit_label})"
    return label


def interpretation(plan: Plan, zone: str, *, partner_only: bool) -> str:
    """What was computed, in the question's language: the measure, breakdown, filters,
    periods resolved in `zone`, how rows were counted and the ranking."""
    zh = plan.language == "zh"
    parts = [
        *_what(plan, partner_only=partner_only),
        *_periods(plan, zone),
        *_counting(plan),
        *_ranking(plan),
        *_ignored(plan),
    ]
    return ("；" if zh else "; ").join(parts) + ("。" if zh else ".")


def _what(plan: Plan, *, partner_only: bool) -> list[str]:
    zh = plan.language == "zh"
    measures = ("、" if zh else ", ").join(
        metric_label(m, plan, plan.language) for m in plan.metrics
    )
    parts = [f"指标：{measures}" if zh else f"Measure: {measures}"]
    if plan.breakdown is not None:
        b = plan.breakdown
        if zh:
            added = "（本币金额不能跨币种相加）"
            parts.append(f"按{b.zh}拆分" + (added if plan.currency_added else ""))
        else:
            added = " (local amounts cannot be added across currencies)"
            parts.append(f"by {b.en}" + (added if plan.currency_added else ""))
    if plan.filters:
        listed = ("；" if zh else "; ").join(f.zh if zh else f.en for f in plan.filters)
        parts.append(f"筛选：{listed}" if zh else f"filters: {listed}")
    if partner_only:
        parts.append("仅限你自己的数据" if zh else "only your own data")
    return parts


def _periods(plan: Plan, zone: str) -> list[str]:
    zh = plan.language == "zh"
    if plan.metrics[0].source == "rejections":
        time_of = "接收时间" if zh else "reception time"
    else:
        time_of = "转化时间" if zh else "conversion time"
    parts = []
    if plan.previous is not None and plan.period is not None:
        now_part = _when(plan.period, zone, plan.language)
        before = _when(plan.previous, zone, plan.language)
        if zh:
            parts.append(
                f"对比（按{time_of}）：当前 {now_part}；之前 {before}；"
                "增长率 = (当前 − 之前) / 之前 × 100%"
            )
        else:
            parts.append(
                f"comparing (by {time_of}) current: {now_part}; previous: {before}; "
                "growth = (current − previous) / previous × 100%"
            )
    elif plan.period is not None:
        when = _when(plan.period, zone, plan.language)
        parts.append(f"时间（按{time_of}）：{when}" if zh else f"period (by {time_of}): {when}")
    else:
        parts.append("时间：全部数据，不限时间" if zh else "period: all time")
    if plan.breakdown is not None and plan.breakdown.time_unit:
        parts.append(f"时间分桶按 {zone} 时区" if zh else f"time buckets in {zone}")
    return parts


def _counting(plan: Plan) -> list[str]:
    """Which rows were counted, and how a rate is computed."""
    zh = plan.language == "zh"
    if plan.metrics[0].source == "rejections":
        parts = ["数据：接收时被拒收的回传" if zh else "data: postbacks refused at reception"]
    elif any(m.key in ("duplicates", "duplicate_rate_pct") for m in plan.metrics):
        parts = [
            "重复回传按每一条重复记录计数；转化数只计每笔转化的首条记录"
            if zh
            else "duplicates counted per duplicate postback; conversions count each "
            "conversion's first row only"
        ]
    else:
        parts = [
            "每笔转化只计一次（不含重复回传，用首条记录的当前状态）"
            if zh
            else "each conversion counted once (duplicate postbacks excluded, "
            "first row's current status)"
        ]
    for m in plan.metrics:
        if m.key in STATUS_RATES:
            label = STATUS_LABELS[STATUS_RATES[m.key]]
            parts.append(
                f"{m.zh.removesuffix('（%）')} = {label['zh']}的转化数 / 全部转化数 × 100%"
                if zh
                else f"{m.en.removesuffix(' (%)')} = {label['en']} conversions / all "
                "conversions × 100%"
            )
        elif m.key == "duplicate_rate_pct":
            parts.append(
                "重复率 = 重复回传数 / 全部回传数（首条记录 + 重复回传） × 100%"
                if zh
                else "duplicate rate = duplicate postbacks / all postbacks (first rows and "
                "duplicates) × 100%"
            )
        elif m.key in PER_DAY:
            parts.append(_per_day(m, plan))
        elif m.key in SHARES:
            parts.append(
                "占比 = 每组的值 / 所有组的合计 × 100%"
                if zh
                else "share = each group's value / the total of all groups × 100%"
            )
    return parts


def _per_day(metric: Metric, plan: Plan) -> str:
    """How a per-day figure is divided: by each period's days, up to the day asked."""
    zh = plan.language == "zh"
    periods = [p for p in (plan.previous, plan.period) if p is not None]
    days = [str(period_days(p, plan.asked_at)) for p in periods]
    label = metric.zh if zh else metric.en
    if zh:
        return f"{label} = 合计 ÷ {' / '.join(days)} 天（本期到今天为止的天数）"
    return f"{label} = total ÷ {' / '.join(days)} days (the period's days up to today)"


def _ignored(plan: Plan) -> list[str]:
    if not plan.ignored:
        return []
    shown = " ".join(plan.ignored)[:80]
    return [f"忽略了无法理解的词：“{shown}”" if plan.language == "zh" else f"ignored: “{shown}”"]


def _ranking(plan: Plan) -> list[str]:
    if plan.rank is None:
        return []
    key = metric_label(plan.metrics[0], plan, plan.language)
    if plan.language == "zh":
        order = "从高到低" if plan.rank == "top" else "从低到高"
        return [f"排序：按{key}{order}，取前 {plan.limit} 个"]
    order = "highest first" if plan.rank == "top" else "lowest first"
    return [f"ranked by {key}, {order}, {plan.limit} shown"]


def chart(plan: Plan, columns: list[str], period_label: str) -> Chart:
    zh = plan.language == "zh"
    first = plan.metrics[0]
    title = metric_label(first, plan, plan.language)
    if plan.breakdown is not None:
        title += f" · {'按' + plan.breakdown.zh if zh else 'by ' + plan.breakdown.en}"
    if period_label:
        title += f" · {period_label}"
    name = first.column_name(plan.unit)
    breakdown = plan.breakdown
    x: str | None = None
    if breakdown is not None:
        x = (
            "offer_name"
            if breakdown.key == "offer"
            else (breakdown.time_unit or breakdown.columns[0])
        )
    if plan.previous is not None:
        # With a breakdown, a pair of bars per group; without, the two periods side by side.
        return Chart(type="bar", x=x, y=[f"{name}_previous", f"{name}_current"], title=title)
    metrics = [c for c in columns if c not in (breakdown.columns if breakdown else ()) and c != x]
    if breakdown is None:
        if len(metrics) == 1:
            return Chart(type="number", x=None, y=metrics, title=title)
        return Chart(type="table", x=None, y=metrics, title=title)
    if breakdown.time_unit:
        return Chart(type="line", x=x, y=metrics, title=title)
    additive = first.key in ("conversions", "sales", "payout", "duplicates", "rejections")
    if breakdown.key in ("status", "currency") and additive and len(metrics) == 1:
        return Chart(type="pie", x=x, y=metrics, title=title)
    return Chart(type="bar", x=x, y=metrics, title=title)


_COLUMN_LABELS = {
    "offer_id": ("offer ID", "offer 编号"),
    "offer_name": ("offer", "offer 名称"),
    "partner": ("partner", "合作伙伴"),
    "status": ("status", "状态"),
    "currency": ("currency", "币种"),
    "reason": ("reason", "拒收原因"),
    "hour": ("hour", "小时"),
    "day": ("day", "日期"),
    "week": ("week (from Monday)", "周（周一起）"),
    "month": ("month", "月份"),
}
_SUFFIXES = {
    "_previous": (" (previous)", "（之前）"),
    "_current": (" (current)", "（当前）"),
    "_change": (" (change)", "（变化）"),
    "_growth_pct": (" growth (%)", "增长率（%）"),
}


def _metric_of(plan: Plan, column: str) -> tuple[Metric, str] | None:
    """The metric a result column holds, and the suffix of a comparison column."""
    for m in plan.metrics:
        name = m.column_name(plan.unit)
        if column == name:
            return m, ""
        for suffix in _SUFFIXES:
            if column == name + suffix:
                return m, suffix
    return None


def headers(plan: Plan, columns: list[str]) -> list[str]:
    """Each column's header in the question's language."""
    zh = plan.language == "zh"
    shown = []
    for column in columns:
        found = _metric_of(plan, column)
        if found is not None:
            metric, suffix = found
            label = metric_label(metric, plan, plan.language)
            if suffix:
                label += _SUFFIXES[suffix][1 if zh else 0]
            shown.append(label)
        elif column in _COLUMN_LABELS:
            shown.append(_COLUMN_LABELS[column][1 if zh else 0])
        elif column in BREAKDOWNS:
            shown.append(column)
        else:
            shown.append(column)
    return shown


def units(plan: Plan, columns: list[str]) -> list[str | None]:
    """Each column's unit: a currency code for money, "%" for rates, None otherwise."""
    out: list[str | None] = []
    currency = [f for f in plan.filters if f.column == "currency" and f.op == "="]
    for column in columns:
        found = _metric_of(plan, column)
        if found is None:
            out.append(None)
            continue
        metric, suffix = found
        if suffix == "_growth_pct" or metric.key in PERCENT_METRICS:
            out.append("%")
        elif metric.money:
            if plan.unit == "local":
                out.append(str(currency[0].values[0]) if currency else None)
            else:
                out.append(plan.unit.upper())
        else:
            out.append(None)
    return out
