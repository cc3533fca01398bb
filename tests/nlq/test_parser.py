"""The parser on its own: any text gives a plan or a refusal (never another error), every
combination of metric, breakdown, filter and period gives SQL the guard accepts, and the
questions it must refuse rather than answer differently."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postback.nlq import explain, guard, sqlgen
from postback.nlq.plan import CannotAnswer, Offer, Partner, Plan, Vocabulary
from postback.nlq.service import understand

KL = ZoneInfo("Asia/Kuala_Lumpur")
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=KL)
NAMES = Vocabulary(
    offers=(
        Offer("1001", "Shopee MY"),
        Offer("1002", "Shopee SG"),
        Offer("3001", "TikTok Shop MY"),
        Offer("7", "Bob's Shop'; DROP TABLE conversion; --"),
    ),
    partners=(Partner("alpha-media", "Alpha Media"), Partner("beta", "Beta Deals")),
)


def plan(question: str, tenant_id: int | None = None) -> Plan:
    return understand(question, now=NOW, zone=KL, vocabulary=NAMES, tenant_id=tenant_id)


WORDS = st.sampled_from(
    [
        "sales",
        "销售额",
        "by",
        "per",
        "top",
        "5",
        "前",
        "offer",
        "每个",
        "昨天",
        "yesterday",
        "vs",
        "对比",
        "approved",
        "拒绝",
        "usd",
        "美元",
        "over",
        "100",
        "myr",
        "以上",
        "shopee",
        "alpha",
        "2026-11-01",
        "到",
        "11月7日",
        "since",
        "monday",
        ";",
        "'",
        '"',
        "--",
        "drop",
        "select",
        "*",
        "from",
        "的",
        "多少",
        "how",
        "many",
        "0",
        "-1",
        "99999999999",
        "last",
        "days",
        "小时",
        "local",
        "本币",
        "currency",
        "SGD",
        "aff_sub",
        "=",
        "x",
        "which",
        "most",
        "最高",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(WORDS, max_size=12), st.text(max_size=40))
def test_any_text_gives_a_plan_or_a_refusal(words: list[str], noise: str) -> None:
    for question in (" ".join(words), noise, " ".join(words) + noise):
        try:
            result = plan(question)
        except CannotAnswer as refusal:
            assert refusal.message
            assert refusal.suggestions
            continue
        sql = sqlgen.to_sql(result, "Asia/Kuala_Lumpur")
        guard.guard(sql, tenant_id=None)
        guard.guard(sql, tenant_id=3)
        assert explain.interpretation(result, "Asia/Kuala_Lumpur", partner_only=False)


METRICS = [
    "conversions",
    "sales",
    "payout in usd",
    "aov",
    "average payout",
    "approval rate",
    "duplicates",
    "rejections",
    "local sales",
]
BREAKDOWNS = [
    "",
    "by offer",
    "by offer id",
    "by partner",
    "by status",
    "by currency",
    "by hour",
    "by day",
    "by week",
    "by month",
    "by aff_sub3",
    "by adv_sub5",
    "by reason",
]
FILTERS = ["", "for shopee", "approved", "in SGD", "over RM 100", "for alpha media", "adv_sub2 = x"]
PERIODS = ["", "yesterday", "last 7 days", "this week vs last week", "since monday"]


def test_every_combination_gives_guarded_sql_or_a_refusal() -> None:
    answered = refused = 0
    for parts in itertools.product(METRICS, BREAKDOWNS, FILTERS, PERIODS):
        question = " ".join(p for p in parts if p)
        try:
            result = plan(question, tenant_id=4)
        except CannotAnswer:
            refused += 1
            continue
        answered += 1
        sql = guard.guard(sqlgen.to_sql(result, "Asia/Kuala_Lumpur"), tenant_id=4)
        assert "tenant_id = 4" in sql
    # Rejections have no offer, status or currency; local amounts need one currency: those
    # combinations are refused, the rest answered.
    assert answered > 2000
    assert refused > 500


@pytest.mark.parametrize(
    "question",
    [
        "approved and pending conversions",  # two statuses at once
        "local conversions",  # local currency, but not an amount
        "top 5 sales",  # ranking with nothing to rank
        "sales yesterday today",  # two periods, no comparison asked
        "sales by offer and by partner",  # two breakdowns
        "rejections by offer",  # rejections carry no offer
        "approved rejections",
        "sales by offer in local currency",  # currencies cannot be added
        "daily sales this week vs last week",
        "how many clicks",
        "revenue yesterday",  # sales or payout? not guessed
        "conversions where 1=1",
        "sales in usd and myr",
        "orders over 100",  # 100 what?
        "offers",
        "昨天",
        "",
        "   ",
    ],
)
def test_refuses_rather_than_answer_another_question(question: str) -> None:
    with pytest.raises(CannotAnswer) as refusal:
        plan(question)
    assert refusal.value.suggestions


def test_refusal_is_in_the_question_language() -> None:
    with pytest.raises(CannotAnswer) as chinese:
        plan("昨天的点击量")
    assert chinese.value.language == "zh"
    assert "不包含点击" in chinese.value.message
    with pytest.raises(CannotAnswer) as english:
        plan("clicks yesterday")
    assert english.value.language == "en"
    assert "clicks" in english.value.message
    with pytest.raises(CannotAnswer) as unknown:
        plan("florp the zibble")
    assert unknown.value.unknown  # no measure, and words nobody knows: the LLM may try


@pytest.mark.parametrize(
    ("question", "ignored"),
    [
        ("今天的转化数量", []),
        ("前天的订单数量", []),
        ("请问一共多少单", []),
        ("please show me conversions yesterday", []),
        ("shopee 昨天 GMV", []),
        ("conversoins yesterdya", []),  # typos
        ("yesterday salse", []),
        ("conversions yesterday blorp", ["blorp"]),
        ("昨天 conversions 按 offer", []),
    ],
)
def test_filler_typos_and_unknown_words_do_not_refuse(question: str, ignored: list[str]) -> None:
    result = plan(question)
    assert result.ignored == ignored
    if ignored:
        text = explain.interpretation(result, "Asia/Kuala_Lumpur", partner_only=False)
        assert ignored[0] in text


@pytest.mark.parametrize(
    ("question", "choice"),
    [
        ("Shopee 的转化率", "shopee 的审核通过率"),
        ("conversion rate by offer", "approval rate by offer"),
        ("revenue yesterday", "sales yesterday"),
        ("orders over 100", "orders sale over 100 myr"),
        ("sales offer yesterday", "sales by offer yesterday"),
    ],
)
def test_several_readings_are_offered_as_choices(question: str, choice: str) -> None:
    with pytest.raises(CannotAnswer) as refusal:
        plan(question)
    questions = [c.question for c in refusal.value.choices]
    assert choice in questions
    for offered in questions:  # each choice is a question the engine answers
        plan(offered)


@pytest.mark.parametrize(
    "question",
    ["DROP TABLE conversion", "delete all conversions", "删除所有转化", "conversions where 1=1"],
)
def test_commands_and_sql_are_refused_not_ignored(question: str) -> None:
    with pytest.raises(CannotAnswer) as refusal:
        plan(question)
    assert not refusal.value.unknown


def test_names_from_the_data_become_quoted_literals() -> None:
    result = plan("bob's shop conversions")
    sql = guard.guard(sqlgen.to_sql(result, "Asia/Kuala_Lumpur"), tenant_id=None)
    assert "'Bob''s Shop''; DROP TABLE conversion; --'" in sql
    assert sql.count(";") == 2  # both inside the quoted name
    assert sql.endswith("LIMIT 1000")


def test_a_brand_finds_every_offer_it_starts() -> None:
    result = plan("shopee sales")
    assert [f.values for f in result.filters] == [("Shopee MY", "Shopee SG")]
    result = plan("Shopee-my sales")
    assert [f.values for f in result.filters] == [("Shopee MY",)]
    result = plan("tiktok shop sales")
    assert [f.values for f in result.filters] == [("TikTok Shop MY",)]


def test_interpretation_says_how_it_was_understood() -> None:
    text = explain.interpretation(
        plan("top 3 offers by payout in USD for approved orders over RM 50 last week"),
        "Asia/Kuala_Lumpur",
        partner_only=True,
    )
    assert text == (
        "Measure: payout (USD); by offer; filters: status = approved; sale amount per "
        "conversion > 50 MYR; only your own data; period (by conversion time): last week, "
        "2026-11-16 00:00 to 2026-11-23 00:00 (end excluded, Asia/Kuala_Lumpur); each "
        "conversion counted once (duplicate postbacks excluded, first row's current status); "
        "ranked by payout (USD), highest first, 3 shown."
    )
    text = explain.interpretation(
        plan("本周和上周的销售额对比"), "Asia/Kuala_Lumpur", partner_only=False
    )
    assert text.startswith(
        "指标：销售额（MYR（令吉））；对比（按转化时间）：当前 本周，2026-11-23 00:00"
    )
    assert "之前 上周，2026-11-16 00:00 至 2026-11-23 00:00" in text


@pytest.mark.parametrize(
    ("question", "metric", "limit"),
    [
        ("duplicate rate last week", "duplicate_rate_pct", None),
        ("重复率 上周", "duplicate_rate_pct", None),
        ("rejection rate by partner", "rejection_rate_pct", None),
        ("what share of conversions were approved this week", "approval_rate_pct", None),
        ("what share of orders were rejected", "rejection_rate_pct", None),
        ("share of conversions by status", "conversions_share_pct", None),
        ("各状态转化占比", "conversions_share_pct", None),
        ("average USD payout per conversion this month", "avg_payout", None),
        ("每笔佣金 上周", "avg_payout", None),
        ("top partner", "conversions", 1),
        ("top partners", "conversions", 10),
        ("哪个offer上周卖得最好", "sales", 1),
    ],
)
def test_rates_shares_averages_and_top_one(question: str, metric: str, limit: int | None) -> None:
    result = plan(question)
    assert [m.key for m in result.metrics] == [metric]
    assert result.limit == limit
    sql = guard.guard(sqlgen.to_sql(result, "Asia/Kuala_Lumpur"), tenant_id=3)
    assert "tenant_id = 3" in sql


def test_an_amount_is_compared_in_the_currency_the_question_names() -> None:
    result = plan("How many conversions last month had a USD sale above 200?")
    assert [(f.column, f.op, f.values) for f in result.filters] == [
        ("usd_sale_amount", ">", (200,))
    ]
    result = plan("美元销售额大于200的订单数")
    assert [f.column for f in result.filters] == ["usd_sale_amount"]


def test_headers_and_units_are_in_the_question_language() -> None:
    result = plan("本周和上周的销售额对比")
    columns = [
        "sales_myr_previous",
        "sales_myr_current",
        "sales_myr_change",
        "sales_myr_growth_pct",
    ]
    assert explain.headers(result, columns)[0] == "销售额（MYR（令吉））（之前）"
    assert explain.units(result, columns) == ["MYR", "MYR", "MYR", "%"]
    result = plan("approval rate by offer")
    assert explain.headers(result, ["offer_id", "offer_name", "approval_rate_pct"]) == [
        "offer ID",
        "offer",
        "approval rate (%)",
    ]
    chart = explain.chart(result, ["offer_id", "offer_name", "approval_rate_pct"], "")
    assert chart.x == "offer_name"


def test_money_without_a_unit_offers_the_other_units() -> None:
    result = plan("昨天的销售额")
    assert result.unit == "myr"
    assert [c.question for c in result.choices] == ["昨天的销售额 美元", "昨天的销售额 本币"]
    assert plan(result.choices[0].question).unit == "usd"
    assert plan(result.choices[1].question).unit == "local"
    assert plan("sales in usd yesterday").choices == []
    assert plan("conversions yesterday").choices == []


@pytest.mark.parametrize(
    "question",
    ["上上上周的订单", "this fiscal year sales", "sales during the holidays", "本财季的销售额"],
)
def test_a_period_word_not_understood_is_refused_not_dropped(question: str) -> None:
    """Answering for another period (or all time) would be wrong: refused, naming the word."""
    with pytest.raises(CannotAnswer) as refused:
        understand(question, now=NOW, zone=KL, vocabulary=Vocabulary())
    assert "时间段" in refused.value.message or "period" in refused.value.message


@pytest.mark.parametrize(
    ("question", "rank", "breakdown"),
    [
        ("worst performing offer last month", "bottom", "offer"),
        ("best performing partner this week", "top", "partner"),
    ],
)
def test_performing_is_a_filler_word(question: str, rank: str, breakdown: str) -> None:
    plan = understand(question, now=NOW, zone=KL, vocabulary=Vocabulary())
    assert (plan.rank, plan.limit, plan.ignored) == (rank, 1, [])
    assert plan.breakdown is not None
    assert plan.breakdown.key == breakdown


@pytest.mark.parametrize(
    ("question", "breakdown", "filters"),
    [
        ("每个子ID的订单 昨天", "aff_sub", []),
        ("conversions by sub id last week", "aff_sub", []),
        ("sub id abc123 sales this month", None, [("aff_sub", "ieq", ("abc123",))]),
        ("子ID为fb01的订单 本周", None, [("aff_sub", "ieq", ("fb01",))]),
    ],
)
def test_sub_id_is_the_affiliates_sub_id(question: str, breakdown, filters) -> None:
    plan = understand(question, now=NOW, zone=KL, vocabulary=Vocabulary())
    assert (plan.breakdown.key if plan.breakdown else None) == breakdown
    assert [(f.column, f.op, f.values) for f in plan.filters] == filters
    assert plan.ignored == []


@pytest.mark.parametrize(
    ("question", "metric", "days"),
    [
        ("最近30天的日均订单", "daily_conversions", "30"),
        ("daily average sales this month", "daily_sales", "25"),  # the 1st to the 25th
        ("平均每天多少单 上周", "daily_conversions", "7"),
        ("avg daily payout yesterday", "daily_payout", "1"),
    ],
)
def test_per_day_divides_by_the_periods_days_so_far(question: str, metric: str, days: str) -> None:
    plan = understand(question, now=NOW, zone=KL, vocabulary=Vocabulary())
    assert [m.key for m in plan.metrics] == [metric]
    assert plan.breakdown is None
    said = explain.interpretation(plan, "Asia/Kuala_Lumpur", partner_only=False)
    assert f"÷ {days} " in said
    assert f"/ {days}," in sqlgen.to_sql(plan, "Asia/Kuala_Lumpur")


@pytest.mark.parametrize(
    "question",
    ["日均订单", "最近7天每天的日均订单", "daily average approval rate last week"],
)
def test_per_day_needs_a_period_and_a_total(question: str) -> None:
    with pytest.raises(CannotAnswer):
        understand(question, now=NOW, zone=KL, vocabulary=Vocabulary())
