"""A query plan → one SELECT over the reporting views, built as a sqlglot expression tree so
every value from the question is a quoted literal, never spliced text.

Questions whose every part a day cell holds (counts and sums by partner, offer, status,
currency, day, week or month, over whole local days) read `reporting.conversion_days` when
the reporting timezone has day cells: some thousands of cells instead of up to millions of
rows, with the same answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlglot import exp

from postback.nlq.plan import (
    CONVERSIONS_VIEW,
    MONEY_COLUMNS,
    PER_DAY,
    REJECTIONS_VIEW,
    SHARES,
    STATUS_RATES,
    Filter,
    Metric,
    Plan,
    TimeRange,
    Unit,
    period_days,
)
from postback.nlq.plan import (
    METRICS as METRICS_BY_KEY,
)

ROW_LIMIT = 1000
_BUCKET_FORMATS = {
    "hour": "YYYY-MM-DD HH24:00",
    "day": "YYYY-MM-DD",
    "week": "YYYY-MM-DD",
    "month": "YYYY-MM",
}


def _col(name: str) -> exp.Column:
    return exp.column(name)


def _lit(value: str | int | Decimal) -> exp.Expr:
    if isinstance(value, str):
        return exp.Literal.string(value)
    return exp.Literal.number(str(value))


def _moment(moment: datetime) -> exp.Expr:
    return exp.cast(exp.Literal.string(moment.isoformat()), "timestamptz")


def _between(column: str, start: datetime, end: datetime) -> exp.Expr:
    return exp.and_(
        exp.GTE(this=_col(column), expression=_moment(start)),
        exp.LT(this=_col(column), expression=_moment(end)),
    )


def _within(column: str, period: TimeRange) -> exp.Expr:
    return _between(column, period.start, period.end)


def _both_periods(column: str, plan: Plan) -> exp.Expr:
    """From the start of the previous period to the end of the current one."""
    assert plan.previous is not None
    assert plan.period is not None
    return _between(column, plan.previous.start, plan.period.end)


def _bucket(unit: str, column: str, zone: str) -> exp.Expr:
    """The start of the hour/day/week/month in the reporting timezone (a timestamp).
    Grouping is on this exact expression (which extended statistics can describe); it is
    formatted as text only after grouping."""
    local = exp.AtTimeZone(this=_col(column), zone=exp.Literal.string(zone))
    return exp.func("date_trunc", exp.Literal.string(unit), local)


def _format_buckets(select: exp.Select, plan: Plan) -> exp.Select:
    """Time buckets as text ('2026-11-24', '2026-11', …), formatted per group, not per row."""
    unit = plan.breakdown.time_unit if plan.breakdown is not None else None
    assert unit is not None
    names = list(select.named_selects)
    outer = exp.select(
        *(
            exp.alias_(exp.func("to_char", _col(n), exp.Literal.string(_BUCKET_FORMATS[unit])), n)
            if n == unit
            else _col(n)
            for n in names
        )
    ).from_(select.subquery("buckets"))
    metric = next(n for n in names if n != unit)
    return _ordered(outer, [unit], metric, plan)


def _filter(f: Filter) -> exp.Expr:
    column = _col(f.column)
    if f.op == "in":
        return column.isin(*(_lit(v) for v in f.values))
    if f.op == "ieq":
        return exp.EQ(this=exp.func("lower", column), expression=_lit(str(f.values[0]).lower()))
    value = _lit(f.values[0])
    ops: dict[str, type[exp.Binary]] = {
        "=": exp.EQ,
        ">": exp.GT,
        ">=": exp.GTE,
        "<": exp.LT,
        "<=": exp.LTE,
    }
    return ops[f.op](this=column, expression=value)


def _case_count(condition: exp.Expr | None) -> exp.Expr:
    if condition is None:
        return exp.Count(this=exp.Star())
    case = exp.Case().when(condition, exp.Literal.number(1)).else_(exp.Literal.number(0))
    return exp.Sum(this=case)


def _case_value(condition: exp.Expr | None, value: exp.Expr) -> exp.Expr:
    if condition is None:
        return value
    return exp.Case().when(condition, value)


def _and(*parts: exp.Expr | None) -> exp.Expr | None:
    present = [p for p in parts if p is not None]
    if not present:
        return None
    return exp.and_(*present) if len(present) > 1 else present[0]


def _div(*, this: exp.Expr, expression: exp.Expr) -> exp.Expr:
    """Division as PostgreSQL means it (numeric stays numeric, no cast to float)."""
    return exp.Div(this=this, expression=expression, typed=True)


def _round(value: exp.Expr) -> exp.Expr:
    return exp.func("round", value, exp.Literal.number(2))


def _percent(part: exp.Expr, whole: exp.Expr) -> exp.Expr:
    share = _div(
        this=exp.Mul(this=exp.Literal.number("100.0"), expression=part),
        expression=exp.func("nullif", whole, exp.Literal.number(0)),
    )
    return _round(share)


def _per_day(total: exp.Expr, days: int) -> exp.Expr:
    """A total divided by the period's days, in numeric (no float), to the cent."""
    return _round(_div(this=exp.cast(total, "numeric"), expression=exp.Literal.number(days)))


def metric_expression(
    metric: Metric,
    unit: Unit,
    condition: exp.Expr | None,
    first_rows: exp.Expr | None,
    days: int = 1,
) -> exp.Expr:
    """The aggregate of one metric over the rows where `condition` holds; `first_rows`
    restricts to each conversion's first row when duplicates are not excluded globally; a
    per-day metric divides by `days`."""
    rows = _and(condition, first_rows)
    if metric.key in PER_DAY:
        counted = METRICS_BY_KEY[PER_DAY[metric.key]]
        if counted.money is None:
            return _per_day(_case_count(rows), days)
        money = _col(MONEY_COLUMNS[(counted.money, unit)])
        total = exp.func("coalesce", exp.Sum(this=_case_value(rows, money)), exp.Literal.number(0))
        return _per_day(total, days)
    if metric.key in ("conversions", "rejections"):
        return _case_count(rows)
    if metric.key == "duplicates":
        return _case_count(_and(condition, _col("is_duplicate")))
    if metric.key == "duplicate_rate_pct":
        # Of every postback of a conversion (first rows and duplicates), the duplicates.
        return _percent(_case_count(_and(condition, _col("is_duplicate"))), _case_count(condition))
    if metric.key in STATUS_RATES:
        status = exp.EQ(this=_col("status"), expression=_lit(STATUS_RATES[metric.key]))
        return _percent(_case_count(_and(rows, status)), _case_count(rows))
    if metric.key in SHARES:
        base = metric_expression(METRICS_BY_KEY[SHARES[metric.key]], unit, condition, first_rows)
        return _percent(base, exp.Window(this=exp.Sum(this=base.copy())))
    assert metric.money is not None
    column = _col(MONEY_COLUMNS[(metric.money, unit)])
    if metric.key in ("aov", "avg_payout"):
        return _round(exp.Avg(this=_case_value(rows, column)))
    total = exp.Sum(this=_case_value(rows, column))
    return _round(exp.func("coalesce", total, exp.Literal.number(0)))


def build(plan: Plan, zone: str, *, day_cells: bool = False) -> exp.Select:
    """The SELECT answering `plan`; with `day_cells` (the zone has them), from day cells
    when they can answer it."""
    if plan.metrics[0].source == "rejections":
        select = _rejections(plan, zone)
    elif day_cells and answerable_from_days(plan, zone):
        select = _days(plan, zone)
    else:
        select = _conversions(plan, zone)
    if plan.breakdown is not None and plan.breakdown.time_unit is not None:
        return _format_buckets(select, plan)
    return select


def _dimension(plan: Plan, zone: str, time_column: str) -> list[tuple[str, exp.Expr]]:
    if plan.breakdown is None:
        return []
    if plan.breakdown.time_unit is not None:
        unit = plan.breakdown.time_unit
        return [(unit, _bucket(unit, time_column, zone))]
    return [(c, _col(c)) for c in plan.breakdown.columns]


def _conversions(plan: Plan, zone: str) -> exp.Select:
    dims = _dimension(plan, zone, "occurred_at")
    with_duplicates = any(m.key in ("duplicates", "duplicate_rate_pct") for m in plan.metrics)
    first_rows = exp.Not(this=_col("is_duplicate")) if with_duplicates else None
    where: list[exp.Expr] = []
    if not with_duplicates:
        where.append(exp.Not(this=_col("is_duplicate")))
    elif all(m.key == "duplicates" for m in plan.metrics):
        where.append(_col("is_duplicate"))  # groups without duplicates are not listed
    if plan.tenant_id is not None:
        where.append(exp.EQ(this=_col("tenant_id"), expression=_lit(plan.tenant_id)))
    where += [_filter(f) for f in plan.filters]

    if plan.previous is None:
        if plan.period is not None:
            where.append(_within("occurred_at", plan.period))
        days = _days_of(plan.period, plan)
        metrics = [
            (m.column_name(plan.unit), metric_expression(m, plan.unit, None, first_rows, days))
            for m in plan.metrics
        ]
        return _grouped(CONVERSIONS_VIEW, dims, metrics, where, plan)

    assert plan.period is not None
    where.append(_both_periods("occurred_at", plan))
    columns = _in_both_periods(
        plan,
        "occurred_at",
        lambda m, when, days: metric_expression(m, plan.unit, when, first_rows, days),
    )
    inner = _grouped(CONVERSIONS_VIEW, dims, columns, where, plan, ordered=False)
    return _compared(inner, dims, plan)


def _days_of(period: TimeRange | None, plan: Plan) -> int:
    """What a per-day metric of `plan` divides by over `period`."""
    return 1 if period is None else period_days(period, plan.asked_at)


def _in_both_periods(
    plan: Plan, time_column: str, aggregate: Callable[[Metric, exp.Expr, int], exp.Expr]
) -> list[tuple[str, exp.Expr]]:
    """Each metric aggregated over the previous period and over the current one, as
    `<metric>_previous` and `<metric>_current` (per-day metrics over each period's days)."""
    assert plan.previous is not None
    assert plan.period is not None
    periods = (("previous", plan.previous), ("current", plan.period))
    return [
        (
            f"{m.column_name(plan.unit)}_{suffix}",
            aggregate(m, _within(time_column, period), _days_of(period, plan)),
        )
        for m in plan.metrics
        for suffix, period in periods
    ]


def _compared(inner: exp.Select, dims: list[tuple[str, exp.Expr]], plan: Plan) -> exp.Select:
    """Each metric's previous and current value, change and growth, from `inner`."""
    outer: list[exp.Expr] = [_col(name) for name, _ in dims]
    for m in plan.metrics:
        name = m.column_name(plan.unit)
        previous, current = _col(f"{name}_previous"), _col(f"{name}_current")
        change = exp.Sub(this=current, expression=previous)
        growth = _round(
            _div(
                this=exp.Mul(this=exp.Literal.number("100.0"), expression=exp.paren(change)),
                expression=exp.func("nullif", previous.copy(), exp.Literal.number(0)),
            )
        )
        outer += [
            previous.copy(),
            current.copy(),
            exp.alias_(change.copy(), f"{name}_change"),
            exp.alias_(growth, f"{name}_growth_pct"),
        ]
    select = exp.select(*outer).from_(inner.subquery("periods"))
    key = f"{plan.metrics[0].column_name(plan.unit)}_current"
    return _ordered(select, [name for name, _ in dims], key, plan)


def _grouped(
    view: str,
    dims: list[tuple[str, exp.Expr]],
    metrics: list[tuple[str, exp.Expr]],
    where: list[exp.Expr],
    plan: Plan,
    *,
    ordered: bool = True,
) -> exp.Select:
    select = exp.select(
        *(exp.alias_(e, name) for name, e in dims),
        *(exp.alias_(e, name) for name, e in metrics),
    ).from_(view)
    if where:
        select = select.where(exp.and_(*where) if len(where) > 1 else where[0])
    if dims:
        select = select.group_by(*(e.copy() for _, e in dims))
    if not ordered:
        return select
    return _ordered(select, [name for name, _ in dims], metrics[0][0], plan)


def _ordered(select: exp.Select, dims: list[str], key: str, plan: Plan) -> exp.Select:
    if not dims:
        return select
    if plan.breakdown is not None and plan.breakdown.time_unit and plan.rank is None:
        return select.order_by(*(exp.Ordered(this=_col(d)) for d in dims)).limit(ROW_LIMIT)
    descending = plan.rank != "bottom"
    order = [exp.Ordered(this=_col(key), desc=descending, nulls_first=not descending)]
    order += [exp.Ordered(this=_col(d), nulls_first=False) for d in dims]
    return select.order_by(*order).limit(plan.limit or ROW_LIMIT)


def _rejections(plan: Plan, zone: str) -> exp.Select:
    dims = _dimension(plan, zone, "received_at")
    where: list[exp.Expr] = []
    if plan.tenant_id is not None:
        where.append(exp.EQ(this=_col("tenant_id"), expression=_lit(plan.tenant_id)))
    if plan.period is not None and plan.previous is None:
        where.append(_within("received_at", plan.period))
    where += [_filter(f) for f in plan.filters]
    if plan.previous is not None:
        assert plan.period is not None
        where.append(_both_periods("received_at", plan))
        counts = _in_both_periods(plan, "received_at", lambda _, when, __: _case_count(when))
        inner = _grouped(REJECTIONS_VIEW, dims, counts, where, plan, ordered=False)
        return _compared(inner, dims, plan)
    return _grouped(REJECTIONS_VIEW, dims, [("rejections", _case_count(None))], where, plan)


# ---------------------------------------------------------------------------- day cells

DAYS_VIEW = "reporting.conversion_days"
_DAY_METRICS = frozenset({"conversions", "sales", "payout", "duplicates", *STATUS_RATES, *PER_DAY})
# Not offer_name: a cell's name is its first rows' (greatest) name, and a pending delta of a
# row that left the cell (a status that moved on, a deleted row) or of a duplicate carries
# none, so names are exact only in folded cells of first rows.
_DAY_COLUMNS = frozenset({"partner", "offer_id", "status", "currency"})
_DAY_UNITS = frozenset({"day", "week", "month"})
_DAY_MONEY = {
    ("sale", "myr"): "sales_myr",
    ("sale", "usd"): "sales_usd",
    ("sale", "local"): "sales_local",
    ("payout", "myr"): "payouts_myr",
    ("payout", "usd"): "payouts_usd",
    ("payout", "local"): "payouts_local",
}


def _whole_days(period: TimeRange | None, zone: ZoneInfo) -> bool:
    if period is None:
        return True
    return all(t.astimezone(zone).time() == time(0) for t in (period.start, period.end))


def answerable_from_days(plan: Plan, zone: str) -> bool:
    """Whether day cells hold everything `plan` asks: no per-row amount (averages,
    thresholds), no hour, sub-id or offer name, and periods of whole local days."""
    if any(m.key not in _DAY_METRICS or m.source != "conversions" for m in plan.metrics):
        return False
    breakdown = plan.breakdown
    if breakdown is not None:
        if breakdown.time_unit is not None:
            if breakdown.time_unit not in _DAY_UNITS:
                return False
        elif not set(breakdown.columns) <= _DAY_COLUMNS:
            return False
    if any(f.column not in _DAY_COLUMNS for f in plan.filters):
        return False
    local = ZoneInfo(zone)
    return _whole_days(plan.period, local) and _whole_days(plan.previous, local)


def _cell_sum(column: str, condition: exp.Expr | None) -> exp.Expr:
    value: exp.Expr = _col(column)
    if condition is not None:
        value = exp.Case().when(condition, value).else_(exp.Literal.number(0))
    return exp.func("coalesce", exp.Sum(this=value), exp.Literal.number(0))


def _day_metric(metric: Metric, unit: Unit, condition: exp.Expr | None, days: int = 1) -> exp.Expr:
    """The aggregate of one metric over the cells where `condition` holds; the same value
    and type as `metric_expression` over the rows."""
    if metric.key in PER_DAY:
        counted = METRICS_BY_KEY[PER_DAY[metric.key]]
        if counted.money is None:
            return _per_day(_cell_sum("conversions", condition), days)
        return _per_day(_cell_sum(_DAY_MONEY[(counted.money, unit)], condition), days)
    if metric.key in ("conversions", "duplicates"):
        return exp.cast(_cell_sum(metric.key, condition), "bigint")
    if metric.key in STATUS_RATES:
        approved_only = exp.EQ(this=_col("status"), expression=_lit(STATUS_RATES[metric.key]))
        approved = _cell_sum("conversions", _and(condition, approved_only))
        share = _div(
            this=exp.Mul(this=exp.Literal.number("100.0"), expression=approved),
            expression=exp.func(
                "nullif", _cell_sum("conversions", condition), exp.Literal.number(0)
            ),
        )
        return _round(share)
    assert metric.money is not None
    return _round(_cell_sum(_DAY_MONEY[(metric.money, unit)], condition))


def _days(plan: Plan, zone: str) -> exp.Select:
    dims = _dimension(plan, zone, "day")
    where: list[exp.Expr] = [exp.EQ(this=_col("zone"), expression=_lit(zone))]
    if plan.tenant_id is not None:
        where.append(exp.EQ(this=_col("tenant_id"), expression=_lit(plan.tenant_id)))
    where += [_filter(f) for f in plan.filters]
    if plan.previous is None:
        if plan.period is not None:
            where.append(_within("day", plan.period))
        days = _days_of(plan.period, plan)
        columns = [
            (m.column_name(plan.unit), _day_metric(m, plan.unit, None, days)) for m in plan.metrics
        ]
    else:
        assert plan.period is not None
        where.append(_both_periods("day", plan))
        columns = _in_both_periods(
            plan, "day", lambda m, when, days: _day_metric(m, plan.unit, when, days)
        )
    select = _grouped(DAYS_VIEW, dims, columns, where, plan, ordered=False)
    if dims:
        # The groups the rows would form: those with a row the metrics count.
        keys = {m.key for m in plan.metrics}
        if keys == {"duplicates"}:
            present: exp.Expr = exp.Sum(this=_col("duplicates"))
        elif "duplicates" in keys:
            present = exp.Add(
                this=exp.Sum(this=_col("conversions")), expression=exp.Sum(this=_col("duplicates"))
            )
        else:
            present = exp.Sum(this=_col("conversions"))
        select = select.having(exp.GT(this=present, expression=exp.Literal.number(0)))
    if plan.previous is not None:
        return _compared(select, dims, plan)
    return _ordered(select, [name for name, _ in dims], columns[0][0], plan)


def to_sql(plan: Plan, zone: str, *, day_cells: bool = False) -> str:
    return build(plan, zone, day_cells=day_cells).sql(dialect="postgres")
