"""The lexicon: every word and phrase, Chinese and English, the engine gives a meaning to.

Metrics, dimensions, breakdown adverbs, statuses, units, currencies, ranking and comparison
words, amount thresholds, ids and sub-ids, brand aliases, and the filler words that carry no
meaning. `lexer.py` finds these in a question; `timephrases.py` holds the time phrases.

Synonym patterns are regular expressions over the normalised question (lower case,
half-width, numerals as digits). English words are matched on word boundaries; Chinese
ones anywhere. Longer phrases are tried first, so "审核通过率" is the approval rate, not the
status "审核通过", and "成交额" is sales, not the conversion count "成交".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from postback.nlq.plan import SUB_COLUMNS, Unit

_EN = r"(?<![a-z0-9_])(?:{})(?![a-z0-9_])"
# Every plain English word of the lexicon, for correcting typos ("conversoins").
KNOWN_EN: set[str] = set()


def en(*words: str) -> str:
    """English words or phrases on word boundaries; spaces match any spacing."""
    for phrase in words:
        KNOWN_EN.update(w for w in phrase.split() if re.fullmatch(r"[a-z]{4,}", w))
    ordered = sorted(words, key=len, reverse=True)
    return _EN.format("|".join(w.replace(" ", r"\s*") for w in ordered))


def zh(*words: str) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


# Metric synonyms, most specific first.
METRIC_WORDS: list[tuple[str, str]] = [
    (
        "duplicate_rate_pct",
        en(
            "duplicate rate",
            "duplicates rate",
            "duplication rate",
            "dupe rate",
            "duplicate ratio",
            "duplicate percentage",
            "percentage of duplicates",
            "share of duplicates",
            "% duplicates",
        )
        + "|"
        + zh("重复率", "重复回传率", "重复占比", "重复比例", "重复回传占比"),
    ),
    (
        "rejection_rate_pct",
        en(
            "rejection rate",
            "rejected rate",
            "reject rate",
            "decline rate",
            "rejection ratio",
            "rejection percentage",
            "percentage rejected",
            "share rejected",
            "% rejected",
        )
        + "|"
        + zh("拒绝率", "驳回率", "被拒率", "拒单率", "被拒绝率"),
    ),
    (
        "pending_rate_pct",
        en("pending rate", "pending ratio", "pending percentage", "percentage pending", "% pending")
        + "|"
        + zh("待审核率", "待审率", "待审核比例"),
    ),
    (
        "approval_rate_pct",
        en(
            "approval rate",
            "approval ratio",
            "approved rate",
            "approve rate",
            "approval percentage",
            "percentage approved",
            "share approved",
            "approval %",
            "% approved",
        ),
    ),
    ("approval_rate_pct", zh("审核通过率", "通过率", "批准率", "审批通过率", "过审率")),
    (
        "aov",
        en(
            "average order value",
            "avg order value",
            "average order amount",
            "average sale amount",
            "average sales amount",
            "average basket",
            "aov",
            "average sale",
            "average order size",
            "average value per order",
        ),
    ),
    (
        "aov",
        zh(
            "客单价",
            "平均订单金额",
            "平均订单价值",
            "平均销售额",
            "平均成交额",
            "平均每单金额",
            "平均每单销售额",
            "笔单价",
        ),
    ),
    (
        "avg_payout",
        en(
            "average payout",
            "avg payout",
            "average commission",
            "avg commission",
            "average earnings",
            "payout per order",
            "commission per order",
        ),
    ),
    ("avg_payout", zh("平均佣金", "平均每单佣金", "平均收益", "单均佣金")),
    (
        "rejections",
        en(
            "rejections",
            "rejected postbacks",
            "refused postbacks",
            "invalid postbacks",
            "postback rejections",
            "rejection count",
            "refusals",
        ),
    ),
    (
        "rejections",
        zh(
            "被拒收的回传",
            "拒收的回传",
            "被拒收",
            "拒收",
            "被拒的回传",
            "无效回传",
            "回传被拒",
            "拒收数",
            "被拒回传",
        ),
    ),
    (
        "duplicates",
        en(
            "duplicates",
            "duplicate postbacks",
            "duplicate conversions",
            "duplicate rows",
            "dupes",
            "repeated postbacks",
            "duplicate",
            "duplicated postbacks",
        ),
    ),
    ("duplicates", zh("重复回传", "重复转化", "重复订单", "重复记录", "重复数", "重复")),
    (
        "sales",
        en(
            "sales amount",
            "sale amount",
            "sales value",
            "order value",
            "gmv",
            "gross merchandise value",
            "sales",
            "turnover",
            "order amount",
            "amount sold",
            "sales volume",
            "sale",
            "sold",
            "sell",
            "selling",
        ),
    ),
    (
        "sales",
        zh(
            "销售额",
            "销售金额",
            "成交额",
            "成交金额",
            "gmv",
            "营业额",
            "交易额",
            "订单金额",
            "流水",
            "销售总额",
            "卖了多少钱",
            "卖出",
            "卖了",
            "卖",
        ),
    ),
    (
        "payout",
        en(
            "payouts", "payout", "commissions", "commission", "earnings", "earned", "earn", "income"
        ),
    ),
    ("payout", zh("佣金", "收益", "提成", "返佣", "分成", "赚了多少", "收入")),
    (
        "conversions",
        en(
            "sales count",
            "number of sales",
            "count of sales",
            "conversions",
            "conversion count",
            "conversion",
            "orders",
            "order count",
            "order",
            "transactions",
            "transaction",
            "purchases",
            "number of orders",
            "number of conversions",
            "conversion numbers",
            "converted",
        ),
    ),
    (
        "conversions",
        zh(
            "转化数量",
            "订单数量",
            "成交数量",
            "转化总数",
            "订单总数",
            "转化数",
            "转化量",
            "转化单数",
            "单数",
            "下单数",
            "销量",
            "转化",
            "订单数",
            "订单量",
            "订单",
            "成交数",
            "成交量",
            "成交笔数",
            "成交",
            "单量",
            "笔数",
            "多少单",
            "几单",
            "多少笔",
        ),
    ),
]


# Words naming a dimension. Whether they mean "break down by" depends on the words around
# them (by / per / each / top N … ; 按 / 每个 / 各 / 前N …), decided by the planner.
DIMENSION_WORDS: list[tuple[str, str]] = [
    *((c, en(c, c.replace("_", " "), c.replace("_", ""))) for c in reversed(SUB_COLUMNS)),
    # The affiliate's own sub-id, as operators say it.
    ("aff_sub", en("sub ids", "sub id", "subids", "subid", "sub-id", "sub-ids")),
    ("aff_sub", zh("子id", "子ID", "子编号", "子渠道")),
    ("offer_id", en("offer ids", "offer id", "offer_id")),
    ("offer_id", zh("offer编号", "offer id", "offer_id", "商家编号", "广告主编号")),
    (
        "offer",
        en(
            "offers",
            "offer",
            "merchants",
            "merchant",
            "advertisers",
            "advertiser",
            "brands",
            "brand",
            "shops",
            "shop",
            "stores",
            "store",
            "offer names",
            "offer name",
        ),
    ),
    ("offer", zh("商家", "广告主", "商户", "品牌", "店铺", "offer", "商品方")),
    (
        "partner",
        en(
            "partners",
            "partner",
            "affiliates",
            "affiliate",
            "channels",
            "channel",
            "tenants",
            "tenant",
            "publishers",
            "publisher",
        ),
    ),
    ("partner", zh("合作伙伴", "伙伴", "渠道", "租户", "合作方", "代理", "推广方")),
    ("status", en("statuses", "status", "approval status", "state")),
    ("status", zh("审核状态", "状态")),
    ("currency", en("currencies", "currency")),
    ("currency", zh("币种", "货币")),
    ("reason", en("reasons", "reason")),
    ("reason", zh("原因", "拒收原因")),
    ("hour", en("hours", "hour")),
    ("hour", zh("小时", "时段")),
    ("day", en("days", "day", "date")),
    ("day", zh("天", "日", "日期")),
    ("week", en("weeks", "week")),
    ("week", zh("周", "星期")),
    ("month", en("months", "month")),
    ("month", zh("月份", "月")),
]

# Words that, placed before a dimension, make it a breakdown.
BY_BEFORE = en(
    "by",
    "per",
    "each",
    "every",
    "for each",
    "for every",
    "across",
    "grouped by",
    "broken down by",
    "split by",
    "breakdown by",
    "break down by",
    "by each",
    "in each",
    "for all",
)
BY_BEFORE_ZH = zh("按照", "按", "每个", "每一个", "每", "各个", "各", "分", "不同", "逐")
# Adverbs that are breakdowns on their own.
SELF_BREAKDOWNS: list[tuple[str, str]] = [
    ("hour", en("hourly", "hour by hour") + "|" + zh("每小时", "逐小时", "分时")),
    ("day", en("daily", "day by day", "per day") + "|" + zh("每天", "每日", "逐日", "每1天")),
    ("week", en("weekly", "week by week") + "|" + zh("每周", "每星期", "逐周")),
    ("month", en("monthly", "month by month") + "|" + zh("每月", "每个月", "逐月")),
]

STATUS_WORDS: list[tuple[str, str]] = [
    ("approved", en("approved", "approve", "confirmed", "validated", "valid", "successful")),
    ("approved", zh("审核通过", "已通过", "已批准", "已确认", "批准", "通过", "有效")),
    (
        "pending",
        en(
            "pending",
            "awaiting approval",
            "on hold",
            "unapproved",
            "not yet approved",
            "processing",
        ),
    ),
    ("pending", zh("待审核", "审核中", "待定", "待确认", "未审核", "待处理", "待批准", "未确认")),
    ("rejected", en("rejected", "declined", "denied", "cancelled", "canceled", "invalid")),
    ("rejected", zh("已拒绝", "被拒绝", "拒绝", "驳回", "已驳回", "无效", "被拒", "拒")),
]

UNIT_WORDS: list[tuple[Unit, str]] = [
    ("usd", en("usd", "us dollars", "us dollar", "dollars", "dollar", "us\\$") + "|\\$"),
    ("usd", zh("美元", "美金")),
    ("myr", en("myr", "rm", "ringgit", "malaysian ringgit")),
    ("myr", zh("令吉", "马币", "林吉特", "马来西亚令吉")),
    ("local", en("local currency", "local amounts?", "local", "original currency")),
    ("local", zh("本币", "当地货币", "原币", "本地货币", "交易币种金额")),
]

# Currency codes a conversion may carry, and their Chinese names.
CURRENCY_CODES = [
    "myr",
    "sgd",
    "idr",
    "thb",
    "php",
    "vnd",
    "usd",
    "twd",
    "hkd",
    "cny",
    "aud",
    "jpy",
    "krw",
    "inr",
    "eur",
    "gbp",
]
CURRENCY_NAMES_ZH = {
    "新币": "sgd",
    "新加坡元": "sgd",
    "新元": "sgd",
    "印尼盾": "idr",
    "泰铢": "thb",
    "菲律宾比索": "php",
    "比索": "php",
    "越南盾": "vnd",
    "新台币": "twd",
    "港币": "hkd",
    "人民币": "cny",
}
WHICH_WORDS = en("which") + "|哪(?!些)一?(?:个|家|位)?|哪些"

COMPARE_WORDS = (
    en(
        "vs",
        "versus",
        "compared to",
        "compared with",
        "compare",
        "comparison",
        "against",
        "growth",
        "change",
        "over the previous period",
        "the previous period",
        "previous period",
        "prior period",
        "the period before",
        "the day before",
        "the week before",
        "the month before",
        "the year before",
        "period over period",
        "week over week",
        "month over month",
        "day over day",
        "wow",
        "mom",
        "dod",
    )
    + "|"
    + zh(
        "对比", "比较", "相比", "相较", "环比", "增长率", "增长", "变化", "涨幅", "比起", "较", "比"
    )
)

# Words that carry no meaning of their own here: what is left of a question after every
# recognised phrase and these are removed must be empty, or the question is not understood.
STOPWORDS_EN = {
    "performing",
    "performer",
    "performers",
    "a",
    "an",
    "the",
    "of",
    "for",
    "in",
    "on",
    "at",
    "by",
    "per",
    "each",
    "every",
    "with",
    "and",
    "or",
    "to",
    "from",
    "what",
    "whats",
    "what's",
    "how",
    "many",
    "much",
    "is",
    "are",
    "was",
    "were",
    "did",
    "do",
    "does",
    "we",
    "i",
    "me",
    "my",
    "our",
    "us",
    "show",
    "list",
    "give",
    "get",
    "tell",
    "display",
    "please",
    "total",
    "overall",
    "sum",
    "count",
    "number",
    "all",
    "had",
    "have",
    "has",
    "made",
    "make",
    "generated",
    "got",
    "received",
    "there",
    "been",
    "so",
    "far",
    "during",
    "across",
    "break",
    "down",
    "breakdown",
    "split",
    "grouped",
    "group",
    "it",
    "its",
    "their",
    "them",
    "they",
    "that",
    "this",
    "these",
    "those",
    "be",
    "can",
    "you",
    "could",
    "would",
    "see",
    "find",
    "report",
    "summary",
    "stats",
    "statistics",
    "numbers",
    "figures",
    "data",
    "value",
    "values",
    "amount",
    "amounts",
    "which",
    "who",
    "where",
    "than",
    "as",
    "into",
    "only",
    "just",
    "up",
    "out",
    "ranked",
    "rank",
    "ranking",
    "sorted",
    "sort",
    "between",
    "period",
    "periods",
    "versus",
    "vs",
    "compare",
    "compared",
    "ones",
    "one",
    "any",
    "some",
    "about",
    "let",
    "know",
    "look",
    "like",
    "time",
    "times",
    "so far",
    "till",
    "until",
    "now",
    "right",
    "currently",
    "current",
    "recorded",
    "came",
    "happened",
    "went",
    "including",
    "included",
    "new",
    "s",
    "hey",
    "whose",
    "still",
    "q",
    "u",
    "asap",
    "hi",
    "hello",
    "pls",
    "plz",
    "kindly",
    "want",
    "wanna",
    "need",
    "quick",
    "quickly",
    "ok",
    "okay",
    "thanks",
    "thank",
    "how's",
    "hows",
    "latest",
    "info",
    "overview",
    "looking",
    "interested",
    "exactly",
    "roughly",
    "approximately",
    "again",
    "also",
    "actually",
    "really",
    "then",
    "same",
    "instead",
    "we've",
    "i'd",
    "i'm",
    "will",
    "should",
    "ever",
    "yet",
}
STOPWORDS_ZH = [
    "请问",
    "请",
    "帮我",
    "帮忙",
    "给我",
    "我们",
    "我的",
    "我",
    "查询",
    "查一下",
    "查查",
    "查看",
    "查",
    "看看",
    "看一下",
    "看下",
    "看",
    "统计一下",
    "统计",
    "一下",
    "显示",
    "列出",
    "列一下",
    "是多少",
    "有多少",
    "多少",
    "几个",
    "几笔",
    "几家",
    "共计",
    "总共",
    "一共",
    "合计",
    "总计",
    "总数",
    "总额",
    "总量",
    "总",
    "共",
    "的",
    "了",
    "是",
    "有",
    "吗",
    "呢",
    "啊",
    "吧",
    "在",
    "期间",
    "之间",
    "中",
    "里",
    "内",
    "以来",
    "和",
    "与",
    "跟",
    "及",
    "以及",
    "还有",
    "分别",
    "各自",
    "分布",
    "个",
    "家",
    "为",
    "时候",
    "情况",
    "数据",
    "数量",
    "如何",
    "怎么样",
    "怎样",
    "什么",
    "哪些",
    "排名",
    "排行",
    "名",
    "比",
    "所有",
    "全部",
    "产生",
    "带来",
    "获得",
    "贡献",
    "笔",
    "单",
    "次",
    "数",
    "额",
    "金额",
    "一样",
    "呀",
    "哦",
    "从",
    "到",
    "至今",
    "目前",
    "为止",
    "现在",
    "截至",
    "明细",
    "列表",
    "报表",
    "汇总",
    "情况如何",
    "怎么",
    "按",
    "分组",
    "排序",
    "降序",
    "升序",
    "各",
    "每",
    "值",
    "共有",
    "个数",
    "记录",
    "条",
    "被",
    "维度",
    "还在",
    "计",
    "算",
    "用",
    "只看",
    "只要",
    "仅看",
    "只",
    "换成",
    "改成",
    "改为",
    "换为",
    "换",
    "那么",
    "那",
    "还是",
    "同样",
    "也",
    "再",
    "改",
    "麻烦",
    "告诉我",
    "想知道",
    "想看",
    "我想",
    "能否",
    "可以",
    "能不能",
    "的话",
    "大概",
    "具体",
    "一下子",
    "得",
    "地",
    "量",
    "下",
    "哈",
    "嘛",
    "呗",
    "多少个",
    "多少钱",
    "到底",
    "那么",
    "这个",
    "那个",
    "怎么样了",
    "，",
    "。",
    "？",
    "！",
    "、",
    "：",
    "；",
]

# Chinese names of the shops, written as their brand in the data.
BRAND_ALIASES = {"虾皮": "shopee", "来赞达": "lazada", "抖音商城": "tiktok", "抖音": "tiktok"}


def _lexicon() -> list[tuple[str, str, str]]:
    """(kind, value, pattern) for every fixed word the engine knows."""
    items: list[tuple[str, str, str]] = [
        ("compare", "week", en("week over week", "wow") + "|周环比"),
        ("compare", "month", en("month over month", "mom") + "|月环比"),
        ("compare", "day", en("day over day", "dod") + "|日环比"),
    ]
    items += [("metric", key, p) for key, p in METRIC_WORDS]
    items += [("dimension", key, p) for key, p in DIMENSION_WORDS]
    items += [("self_breakdown", key, p) for key, p in SELF_BREAKDOWNS]
    items += [("status", key, p) for key, p in STATUS_WORDS]
    items += [("unit", key, p) for key, p in UNIT_WORDS]
    items += [("currency", code, en(code)) for code in CURRENCY_CODES if code not in ("usd", "myr")]
    items += [("currency", code, name) for name, code in CURRENCY_NAMES_ZH.items()]
    items += [("by", "", BY_BEFORE), ("by", "", BY_BEFORE_ZH)]
    items += [("compare", "", COMPARE_WORDS)]
    items += [
        ("top", "", r"(?<![a-z])top\s*(?P<n>\d{1,4})?"),
        ("top", "", r"(?:排名|排行)?前\s*(?P<n>\d{1,4})\s*(?:名|个|位|家)?"),
        ("bottom", "", r"(?<![a-z])bottom\s*(?P<n>\d{1,4})?"),
        ("bottom", "", r"(?:倒数|后)\s*(?P<n>\d{1,4})\s*(?:名|个|位|家)?|倒数"),
        (
            "most",
            "top",
            en("best", "highest", "most", "largest", "biggest", "max", "maximum")
            + "|"
            + zh("最高", "最多", "最大", "最好", "最强"),
        ),
        (
            "most",
            "bottom",
            en("worst", "lowest", "least", "fewest", "smallest", "min", "minimum")
            + "|"
            + zh("最低", "最少", "最小", "最差", "垫底"),
        ),
        ("which", "", WHICH_WORDS),
        ("top", "", r"(?:最高|最多|最大|最好)的?\s*(?P<n>\d{1,4})\s*(?:名|个|位|家)?"),
        ("bottom", "", r"(?:最低|最少|最小|最差)的?\s*(?P<n>\d{1,4})\s*(?:名|个|位|家)?"),
        ("currency_word", "", "币种为|币种是|结算"),
    ]
    return items


# Every fixed word, as (token kind, value, pattern), in the order the lexer tries them.
LEXICON = [
    *_lexicon(),
    # "share"/"占比": of a status ("what share were approved"), or each group's share of
    # the total ("share of conversions by status").
    (
        "share",
        "",
        en("share", "shares", "proportion", "percentage", "percent", "ratio", "rate", "%")
        + "|"
        + zh("占比", "比例", "百分比", "比重", "份额", "率"),
    ),
    # "日均", "daily average": a total per day of the period.
    (
        "per_day",
        "",
        en(
            "daily average",
            "average daily",
            "avg daily",
            "daily avg",
            "average per day",
            "avg per day",
            "per day on average",
            "on average per day",
            "a day on average",
        )
        + "|"
        + zh("日均", "平均每天", "每天平均", "平均每日", "每日平均", "天均"),
    ),
    # "average … per conversion": a money measure averaged over the conversions.
    (
        "average",
        "",
        en(
            "average",
            "avg",
            "mean",
            "per conversion",
            "per order",
            "per sale",
            "per transaction",
            "each conversion",
            "on average",
        )
        + "|"
        + zh("平均", "每单", "每笔", "单均", "均值", "平均每单", "平均每笔"),
    ),
]

# ---------------------------------------------------------------------------- thresholds

# Amount thresholds: "orders over 100 MYR", "佣金大于5美元", "500令吉以上".
USD_WORDS = frozenset({"$", "us$", "usd", "dollar", "dollars", "美元", "美金"})
MYR_WORDS = frozenset({"myr", "rm", "ringgit", "令吉", "马币"})
AMOUNT_CURRENCY = (
    r"(?:\$|us\$|usd|myr|rm|dollars?|ringgit|美元|美金|令吉|马币|"
    + "|".join(c for c in CURRENCY_CODES if c not in ("usd", "myr"))
    + ")"
)
AMOUNT_MEASURE = (
    r"(?P<measure>sales amount|sale amount|order value|order amount|sales|sale|gmv|amount|value"
    r"|payouts?|commissions?|销售额|订单金额|成交额|销售金额|金额|佣金|收益)"
)
PAYOUT_MEASURE = re.compile(r"payout|commission|佣金|收益")
OPERATORS_EN = {
    "over": ">",
    "above": ">",
    "more than": ">",
    "greater than": ">",
    "exceeding": ">",
    "larger than": ">",
    "bigger than": ">",
    "higher than": ">",
    ">": ">",
    "at least": ">=",
    "no less than": ">=",
    "not less than": ">=",
    ">=": ">=",
    "minimum": ">=",
    "under": "<",
    "below": "<",
    "less than": "<",
    "smaller than": "<",
    "lower than": "<",
    "<": "<",
    "at most": "<=",
    "no more than": "<=",
    "not more than": "<=",
    "<=": "<=",
    "up to": "<=",
    "maximum": "<=",
}
OPERATORS_ZH = {
    "大于等于": ">=",
    "不少于": ">=",
    "至少": ">=",
    "不低于": ">=",
    "大于": ">",
    "超过": ">",
    "高于": ">",
    "多于": ">",
    "小于等于": "<=",
    "不超过": "<=",
    "不高于": "<=",
    "小于": "<",
    "低于": "<",
    "少于": "<",
}
OPERATORS_AFTER_ZH = {"及以上": ">=", "以上": ">=", "及以下": "<=", "以下": "<="}


def alternatives(words: Iterable[str]) -> str:
    """A regex alternation of literal words, longest first."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_NUMBER = r"(?P<num>\d{1,12}(?:\.\d{1,6})?)"
THRESHOLDS = [
    re.compile(
        rf"(?:(?<![a-z])(?:(?P<cur0>{AMOUNT_CURRENCY})\s*)?{AMOUNT_MEASURE}\s*(?:of|is|was|为|在)?\s*)?"
        rf"(?P<op>{alternatives(OPERATORS_EN)}|{alternatives(OPERATORS_ZH)})"
        rf"\s*(?P<cur1>{AMOUNT_CURRENCY})?\s*{_NUMBER}\s*(?P<cur2>{AMOUNT_CURRENCY}(?![a-z]))?"
        rf"(?P<post>)"
    ),
    re.compile(
        rf"(?:(?:(?P<cur0>{AMOUNT_CURRENCY})\s*)?{AMOUNT_MEASURE}\s*(?:为|在)?\s*)?(?P<op>)(?P<cur1>{AMOUNT_CURRENCY})?\s*{_NUMBER}"
        rf"\s*(?P<cur2>{AMOUNT_CURRENCY})?\s*(?P<post>{alternatives(OPERATORS_AFTER_ZH)})"
    ),
]

# ---------------------------------------------------------------------------- ids

OFFER_ID = re.compile(
    r"(?<![a-z])(?:offer\s*(?:id|_id|编号|号)|offer|商家编号)\s*(?:[:#=]|is|为|是)?\s*"
    r"(?P<id>[a-z0-9_\-]*\d[a-z0-9_\-]*)(?![a-z0-9])"
)
SUB_VALUE = re.compile(
    r"(?<![a-z0-9])(?P<col>aff_?sub[2-4]?|adv_?sub[2-5]?)\s*(?:=|:|is|为|是|等于)\s*"
    r"['\"“”]?(?P<value>[a-z0-9_\-.]{1,64})['\"“”]?"
    # "sub id abc123", "子ID为abc123": the affiliate's own sub-id.
    r"|(?<![a-z0-9])(?P<col2>sub[ -]?id|子id|子编号)\s*(?:=|:|is|为|是|等于)?\s*"
    r"['\"“”]?(?P<value2>(?=[a-z_\-.]*\d)[a-z0-9_\-.]{1,64})['\"“”]?"
)

# ---------------------------------------------------------------------------- measures

# "orders" is a count of its own next to another measure only in a count form or joined to it.
COUNT_FORM = re.compile(r"数|量|count|number|how many|多少单|几单|多少笔")
# A connector between two measures: at least one word or mark, not bare juxtaposition
# ("订单佣金" is the payout of the orders).
CONNECTOR = re.compile(
    r"^\s*(?:and|&|,|，|和|与|及|以及|、|还有|加上|plus)(?:\s|and|&|,|，|和|与|及|以及|、|还有|加上|plus)*$"
)

# ---------------------------------------------------------------------------- not answerable

# Words asking to change something, or written in SQL: the engine only reads and only
# understands questions, so these are refused rather than ignored.
COMMAND_WORDS_EN = frozenset(
    {
        "drop",
        "delete",
        "update",
        "insert",
        "truncate",
        "grant",
        "revoke",
        "alter",
        "create",
        "copy",
        "select",
        "union",
        "exec",
        "execute",
        "pg_sleep",
        "sleep",
        "ignore",
        "instruction",
        "instructions",
        "tenant_id",
        "api_key",
        "api_key_hash",
        "password",
        "secret",
        "information_schema",
        "pg_catalog",
        "pg_authid",
        "pg_read_file",
        "current_setting",
        "1=1",
    }
)
COMMAND_TEXT = re.compile(
    r"删除|清空|插入|修改|把.{0,30}改(?:成|为)|忽略.{0,10}指令|密钥|密码"
    r"|(?<![a-z0-9])\d+\s*=\s*\d+(?![0-9])"
)

# Measures postbacks do not carry: refused with the reason.
CLICK_WORDS = (
    en("clicks", "click", "impressions", "impression", "visits", "sessions", "ctr", "epc", "views")
    + "|"
    + zh("点击量", "点击数", "点击", "展示量", "曝光量", "曝光", "访问量", "浏览量", "展示")
)
# "Conversion rate" needs clicks: answered with the choice of the approval rate.
CONVERSION_RATE = (
    en("conversion rate", "conversion rates", "cvr", "conv rate")
    + "|"
    + zh("转化率", "转换率", "成交率")
)
# "Revenue" is sales or payout: the asker chooses.
REVENUE = en("revenue", "revenues") + "|" + zh("营收", "收入额")

LEXICON[:0] = [
    ("clicks", "", CLICK_WORDS),
    ("conversion_rate", "", CONVERSION_RATE),
    ("revenue", "", REVENUE),
]


# ---------------------------------------------------------------------------- follow-ups

# A question that says it follows the previous one (else one with a measure and a period
# starts over).
FOLLOW_UP = re.compile(
    r"^\s*(?:and|what about|how about|now|then|same|but|ok|okay|also|instead|only|just)\b"
    r"|\binstead\b|\bsame\b|呢\s*[?？]?\s*$|换成|改成|改为|换为|只看|只要|仅看|那么?|还是|同样|也"
)
# "overall", "合计": a follow-up without the breakdown asked before.
NO_BREAKDOWN = re.compile(
    r"(?<![a-z])(?:overall|in total|total|altogether|no breakdown|without breakdown)(?![a-z])"
    r"|合计|总计|汇总|不分|不用分|一共|总共|整体"
)
# "all offers", "所有渠道": a follow-up without the filter of that kind asked before.
ALL_OF = re.compile(r"(?<![a-z])(?:all|every|any)\s*$|(?:所有|全部|全体|各)\s*$")
