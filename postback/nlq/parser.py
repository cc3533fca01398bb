"""A question in Chinese or English → a typed query plan, or CannotAnswer.

The question is normalised, then every phrase the semantic layer knows is found (time
phrases, amount thresholds, names of offers and partners taken from the data, metrics,
dimensions, statuses, currencies, ranking and comparison words). What is left once those and
filler words are removed must be empty: a word the engine does not understand makes it refuse
(with suggestions) rather than answer a different question.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from postback.nlq import semantic as sem
from postback.nlq.semantic import Breakdown, Language, Metric, Unit
from postback.nlq.timephrases import (
    TimeMatch,
    TimeRange,
    digits_for_numerals,
    find_time_ranges,
    previous_period,
)

MAX_QUESTION_CHARS = 500
DEFAULT_TOP = 10

# Chinese names of the shops, written as their brand in the data.
BRAND_ALIASES = {"虾皮": "shopee", "来赞达": "lazada", "抖音商城": "tiktok", "抖音": "tiktok"}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class CannotAnswer(Exception):
    """The question is not understood well enough to answer it exactly."""

    def __init__(
        self, message: str, suggestions: list[str], language: Language, *, unknown: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions
        self.language = language
        # True when words were not recognised (fresher names from the data might help).
        self.unknown = unknown


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


@dataclass(frozen=True, slots=True)
class Filter:
    column: str
    op: Literal["=", "in", ">", ">=", "<", "<=", "ieq"]
    values: tuple[str | Decimal, ...]
    zh: str
    en: str


@dataclass
class Plan:
    language: Language
    metrics: list[Metric]
    unit: Unit = sem.DEFAULT_UNIT
    breakdown: Breakdown | None = None
    filters: list[Filter] = field(default_factory=list)
    period: TimeRange | None = None
    previous: TimeRange | None = None  # set when two periods are compared
    rank: Literal["top", "bottom"] | None = None
    limit: int | None = None
    tenant_id: int | None = None
    currency_added: bool = False  # local amounts: broken down by currency automatically


def language_of(question: str) -> Language:
    return "zh" if _CJK.search(question) else "en"


def normalise(question: str) -> str:
    text = unicodedata.normalize("NFKC", question).lower()
    text = text.replace("\u3000", " ").replace("’", "'").replace("‘", "'")
    for alias, brand in BRAND_ALIASES.items():
        text = text.replace(alias, f" {brand} ")
    text = re.sub(r"\s+", " ", text).strip()
    return digits_for_numerals(text)


def refuse(
    language: Language, message_zh: str, message_en: str, *, unknown: bool = False
) -> CannotAnswer:
    message = message_zh if language == "zh" else message_en
    other: Language = "en" if language == "zh" else "zh"
    return CannotAnswer(
        message, sem.EXAMPLES[language] + sem.EXAMPLES[other][:2], language, unknown=unknown
    )


# ---------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: str
    start: int
    end: int
    number: int | None = None


class _Text:
    """The question with recognised spans blanked out, so later patterns cannot reuse them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.free = list(text)

    def current(self) -> str:
        return "".join(self.free)

    def take(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.free[i] = " "

    def is_free(self, start: int, end: int) -> bool:
        return all(self.free[i] != " " or self.text[i] == " " for i in range(start, end))


def _longest(candidates: Iterable[Token]) -> list[Token]:
    chosen: list[Token] = []
    for token in sorted(candidates, key=lambda t: (-(t.end - t.start), t.start)):
        if all(token.end <= c.start or token.start >= c.end for c in chosen):
            chosen.append(token)
    return sorted(chosen, key=lambda t: t.start)


_COMPILED: dict[str, re.Pattern[str]] = {}


def _rx(pattern: str) -> re.Pattern[str]:
    compiled = _COMPILED.get(pattern)
    if compiled is None:
        compiled = _COMPILED[pattern] = re.compile(pattern)
    return compiled


def _lexicon() -> list[tuple[str, str, str]]:
    """(kind, value, pattern) for every fixed word the engine knows."""
    items: list[tuple[str, str, str]] = [
        ("compare", "week", sem.en("week over week", "wow") + "|周环比"),
        ("compare", "month", sem.en("month over month", "mom") + "|月环比"),
        ("compare", "day", sem.en("day over day", "dod") + "|日环比"),
    ]
    items += [("metric", key, p) for key, p in sem.METRIC_WORDS]
    items += [("dimension", key, p) for key, p in sem.DIMENSION_WORDS]
    items += [("self_breakdown", key, p) for key, p in sem.SELF_BREAKDOWNS]
    items += [("status", key, p) for key, p in sem.STATUS_WORDS]
    items += [("unit", key, p) for key, p in sem.UNIT_WORDS]
    items += [
        ("currency", code, sem.en(code))
        for code in sem.CURRENCY_CODES
        if code not in ("usd", "myr")
    ]
    items += [("currency", code, name) for name, code in sem.CURRENCY_NAMES_ZH.items()]
    items += [("by", "", sem.BY_BEFORE), ("by", "", sem.BY_BEFORE_ZH)]
    items += [("compare", "", sem.COMPARE_WORDS)]
    items += [
        ("top", "", r"(?<![a-z])top\s*(?P<n>\d{1,4})?"),
        ("top", "", r"(?:排名|排行)?前\s*(?P<n>\d{1,4})\s*(?:名|个|位|家)?"),
        ("bottom", "", r"(?<![a-z])bottom\s*(?P<n>\d{1,4})?"),
        ("bottom", "", r"(?:倒数|后)\s*(?P<n>\d{1,4})\s*(?:名|个|位|家)?|倒数"),
        (
            "most",
            "top",
            sem.en("best", "highest", "most", "largest", "biggest", "max", "maximum")
            + "|"
            + sem.zh("最高", "最多", "最大", "最好", "最强"),
        ),
        (
            "most",
            "bottom",
            sem.en("worst", "lowest", "least", "fewest", "smallest", "min", "minimum")
            + "|"
            + sem.zh("最低", "最少", "最小", "最差", "垫底"),
        ),
        ("which", "", sem.WHICH_WORDS),
        ("top", "", r"(?:最高|最多|最大|最好)的?\s*(?P<n>\d{1,4})\s*(?:名|个|位|家)?"),
        ("bottom", "", r"(?:最低|最少|最小|最差)的?\s*(?P<n>\d{1,4})\s*(?:名|个|位|家)?"),
        ("currency_word", "", "币种为|币种是|结算"),
    ]
    return items


LEXICON = _lexicon()


def _lex(text: _Text) -> list[Token]:
    current = text.current()
    found: list[Token] = []
    for kind, value, pattern in LEXICON:
        rx = _rx(pattern)
        position = 0
        # Every start position, not only non-overlapping matches: "被拒收的回传" must offer
        # both "被拒收" and "拒收的回传" so the longest can win.
        while (m := rx.search(current, position)) is not None:
            position = m.start() + 1
            if m.end() == m.start():
                continue
            number = int(m["n"]) if "n" in rx.groupindex and m["n"] else None
            found.append(Token(kind, value, m.start(), m.end(), number))
    return _longest(found)


# ---------------------------------------------------------------------------- thresholds

_NUM = r"(?P<num>\d{1,12}(?:\.\d{1,6})?)"
_CUR = (
    r"(?:\$|us\$|usd|myr|rm|dollars?|ringgit|美元|美金|令吉|马币|"
    + "|".join(c for c in sem.CURRENCY_CODES if c not in ("usd", "myr"))
    + ")"
)
_OPS_EN = {
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
_OPS_ZH = {
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
_POST_ZH = {"及以上": ">=", "以上": ">=", "及以下": "<=", "以下": "<="}
_MEASURE = (
    r"(?P<measure>sales amount|sale amount|order value|order amount|sales|sale|gmv|amount|value"
    r"|payouts?|commissions?|销售额|订单金额|成交额|销售金额|金额|佣金|收益)"
)


def _alt(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_THRESHOLD = [
    re.compile(
        rf"(?:(?<![a-z]){_MEASURE}\s*(?:of|is|was|为|在)?\s*)?(?P<op>{_alt(_OPS_EN)}|{_alt(_OPS_ZH)})"
        rf"\s*(?P<cur1>{_CUR})?\s*{_NUM}\s*(?P<cur2>{_CUR}(?![a-z]))?(?P<post>)"
    ),
    re.compile(
        rf"(?:{_MEASURE}\s*(?:为|在)?\s*)?(?P<op>)(?P<cur1>{_CUR})?\s*{_NUM}\s*(?P<cur2>{_CUR})?"
        rf"\s*(?P<post>{_alt(_POST_ZH)})"
    ),
]


def _unit_of(currency: str | None) -> tuple[Unit | None, str | None]:
    """The unit an amount is in, and the currency code to filter on for local amounts."""
    if currency is None:
        return None, None
    if currency in ("$", "us$", "usd", "dollar", "dollars", "美元", "美金"):
        return "usd", None
    if currency in ("myr", "rm", "ringgit", "令吉", "马币"):
        return "myr", None
    return "local", currency.upper()


def _thresholds(text: _Text, language: Language) -> tuple[list[Filter], list[Filter]]:
    """Amount thresholds ("orders over 100 MYR", "佣金大于5美元") and the currency filters
    they imply. A bare number without a currency or an amount word is not taken."""
    filters: list[Filter] = []
    currencies: list[Filter] = []
    for pattern in _THRESHOLD:
        for m in list(pattern.finditer(text.current())):
            measure, cur = m["measure"], m["cur1"] or m["cur2"]
            if not measure and not cur:
                continue
            op_word = m["op"] or ""
            op = _OPS_EN.get(op_word) or _OPS_ZH.get(op_word) or _POST_ZH.get(m["post"] or "")
            if op is None:
                continue
            try:
                amount = Decimal(m["num"])
            except InvalidOperation:
                continue
            unit, code = _unit_of(cur)
            money: Literal["sale", "payout"] = (
                "payout"
                if measure and re.match(r"payout|commission|佣金|收益", measure)
                else "sale"
            )
            column = sem.MONEY_COLUMNS[(money, unit or sem.DEFAULT_UNIT)]
            what_zh = "佣金" if money == "payout" else "订单金额"
            what_en = "payout" if money == "payout" else "sale amount"
            unit_label = code or sem.UNIT_LABELS[unit or sem.DEFAULT_UNIT]["en"]
            filters.append(
                Filter(
                    column,
                    op,  # type: ignore[arg-type]
                    (amount,),
                    f"每笔{what_zh} {op} {amount} {unit_label}",
                    f"{what_en} per conversion {op} {amount} {unit_label}",
                )
            )
            if code:
                currencies.append(_currency_filter(code.lower()))
            text.take(*m.span())
    return filters, currencies


def _currency_filter(code: str) -> Filter:
    upper = code.upper()
    return Filter("currency", "=", (upper,), f"币种 = {upper}", f"currency = {upper}")


# ---------------------------------------------------------------------------- names


def _name_pattern(name: str) -> str | None:
    parts = re.findall(r"[a-z0-9]+|[\u3400-\u9fff]", unicodedata.normalize("NFKC", name).lower())
    if not parts:
        return None
    body = r"[^a-z0-9\u3400-\u9fff]{0,3}".join(re.escape(p) for p in parts)
    return rf"(?<![a-z0-9]){body}(?![a-z0-9])"


def _is_plain_word(text: str) -> bool:
    """A word the lexicon or the filler list already gives a meaning to."""
    if text in sem.STOPWORDS_EN or len(text) < 3:
        return True
    return any(_rx(p).fullmatch(text) for _, _, p in LEXICON)


@lru_cache(maxsize=16)
def _name_matchers(vocabulary: Vocabulary) -> list[tuple[str, re.Pattern[str], tuple[str, ...]]]:
    """Patterns for every offer name, every brand that starts offer names, and every
    partner slug and name (built once per set of names)."""
    matchers: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = []

    def add(kind: str, pattern: str | None, names: tuple[str, ...]) -> None:
        if pattern is not None:
            matchers.append((kind, re.compile(pattern), names))

    by_prefix: dict[str, set[str]] = {}
    for offer in vocabulary.offers:
        add("offer", _name_pattern(offer.name), (offer.name,))
        words = re.findall(r"[a-z0-9]+", offer.name.lower())
        for size in range(1, len(words)):
            prefix = " ".join(words[:size])
            if not _is_plain_word(prefix):
                by_prefix.setdefault(prefix, set()).add(offer.name)
    for prefix, starting in by_prefix.items():
        add("offer", _name_pattern(prefix), tuple(sorted(starting)))
    for partner in vocabulary.partners:
        for label in {partner.slug, partner.name or partner.slug}:
            if not _is_plain_word(label.lower()):
                add("partner", _name_pattern(label), (partner.slug,))
    return matchers


def _names(text: _Text, vocabulary: Vocabulary, language: Language) -> list[Filter]:
    """Offers and partners named in the question, matched against the data forgivingly:
    any case and spacing, and a brand alone ("shopee") finds every offer it starts."""
    candidates: list[tuple[Token, tuple[str, ...]]] = []
    current = text.current()
    for kind, pattern, names in _name_matchers(vocabulary):
        for m in pattern.finditer(current):
            candidates.append((Token(kind, "", m.start(), m.end()), names))

    tokens = _longest(token for token, _ in candidates)
    chosen = {(t.start, t.end, t.kind) for t in tokens}
    offers: set[str] = set()
    partners: set[str] = set()
    for token, found in candidates:
        if (token.start, token.end, token.kind) in chosen:
            (offers if token.kind == "offer" else partners).update(found)
            text.take(token.start, token.end)
    filters = []
    if offers:
        listed = ", ".join(sorted(offers))
        filters.append(
            Filter(
                "offer_name",
                "in",
                tuple(sorted(offers)),
                f"offer 为 {listed}",
                f"offer is {listed}",
            )
        )
    if partners:
        listed = ", ".join(sorted(partners))
        filters.append(
            Filter(
                "partner",
                "in",
                tuple(sorted(partners)),
                f"合作伙伴为 {listed}",
                f"partner is {listed}",
            )
        )
    return filters


_OFFER_ID = re.compile(
    r"(?<![a-z])(?:offer\s*(?:id|_id|编号|号)|offer|商家编号)\s*(?:[:#=]|is|为|是)?\s*"
    r"(?P<id>[a-z0-9_\-]*\d[a-z0-9_\-]*)(?![a-z0-9])"
)
_SUB_VALUE = re.compile(
    r"(?<![a-z0-9])(?P<col>aff_?sub[2-4]?|adv_?sub[2-5]?)\s*(?:=|:|is|为|是|等于)\s*"
    r"['\"“”]?(?P<value>[a-z0-9_\-.]{1,64})['\"“”]?"
)


def _id_filters(text: _Text, vocabulary: Vocabulary) -> list[Filter]:
    filters = []
    for m in list(_OFFER_ID.finditer(text.current())):
        wanted = m["id"]
        known = [
            o.offer_id for o in vocabulary.offers if o.offer_id and o.offer_id.lower() == wanted
        ]
        value = known[0] if known else wanted
        op: Literal["=", "ieq"] = "=" if known else "ieq"
        filters.append(
            Filter("offer_id", op, (value,), f"offer ID = {value}", f"offer id = {value}")
        )
        text.take(*m.span())
    for m in list(_SUB_VALUE.finditer(text.current())):
        column = re.sub(r"^(aff|adv)_?sub", r"\1_sub", m["col"])
        value = m["value"]
        filters.append(
            Filter(
                column,
                "ieq",
                (value,),
                f"{column} = {value}（不区分大小写）",
                f"{column} = {value} (any case)",
            )
        )
        text.take(*m.span())
    return filters


# ---------------------------------------------------------------------------- leftovers

_STOP_ZH = sorted(sem.STOPWORDS_ZH, key=len, reverse=True)
_WORD = re.compile(r"[a-z0-9_'$%.\-]+|[^\sa-z0-9]")


def _leftover(text: str) -> list[str]:
    """Words nobody recognised."""
    for word in _STOP_ZH:
        text = text.replace(word, " ")
    unknown = []
    for word in _WORD.findall(text):
        word = word.strip(".-'")
        if not word or word in sem.STOPWORDS_EN:
            continue
        if re.fullmatch(r"[?？!！,，.。:：;；、\"'“”‘’()（）\[\]【】/\\|~`^*+=<>@&#-]+", word):
            continue
        unknown.append(word)
    return unknown


# ---------------------------------------------------------------------------- parse


def parse(
    question: str,
    *,
    now: datetime,
    zone: ZoneInfo,
    vocabulary: Vocabulary,
    tenant_id: int | None = None,
) -> Plan:
    language = language_of(question)
    if not question.strip():
        raise refuse(language, "请输入一个问题。", "Ask a question.")
    if len(question) > MAX_QUESTION_CHARS:
        raise refuse(
            language,
            f"问题太长（最多 {MAX_QUESTION_CHARS} 个字符）。",
            f"The question is too long (at most {MAX_QUESTION_CHARS} characters).",
        )
    text = _Text(normalise(question))

    times = find_time_ranges(text.text, now, zone)
    for match in times:
        text.take(*match.span)
    filters = _id_filters(text, vocabulary)
    thresholds, implied = _thresholds(text, language)
    filters += _names(text, vocabulary, language)
    tokens = _lex(text)
    for token in tokens:
        text.take(token.start, token.end)
    unknown = _leftover(text.current())
    if unknown:
        shown = " ".join(dict.fromkeys(unknown))[:80]
        raise refuse(
            language, f"无法理解：“{shown}”。", f"Not understood: “{shown}”.", unknown=True
        )
    tokens = _measures(tokens, text.text)
    if not times:
        # "week over week" alone compares this week with the one before.
        units = [t.value for t in tokens if t.kind == "compare" and t.value]
        if units:
            phrases = {
                "week": ("本周", "this week"),
                "month": ("本月", "this month"),
                "day": ("今天", "today"),
            }
            phrase = phrases[units[0]][0 if language == "zh" else 1]
            times = find_time_ranges(phrase, now, zone)
    return _plan(language, tokens, times, filters, thresholds, implied, tenant_id)


_COUNT_FORM = re.compile(r"数|量|count|number|how many|多少单|几单|多少笔")
_CONNECTOR = re.compile(r"^(?:\s|and|&|,|和|与|及|以及|、|还有|加上|plus)*$")


def _measures(tokens: list[Token], text: str) -> list[Token]:
    """ "orders" next to another measure usually names the rows ("payout of approved orders"),
    not a count: it is a measure of its own only as a count word ("订单数", "number of
    orders") or joined to the other measure ("orders and payout", "订单和佣金")."""
    metrics = [t for t in tokens if t.kind == "metric"]
    if all(t.value == "conversions" for t in metrics):
        return tokens
    kept = []
    for t in tokens:
        if (
            t.kind == "metric"
            and t.value == "conversions"
            and not _COUNT_FORM.search(text[t.start : t.end])
        ):
            i = metrics.index(t)
            neighbours = metrics[max(i - 1, 0) : i] + metrics[i + 1 : i + 2]
            joined = any(
                n.value != "conversions"
                and _CONNECTOR.match(text[min(t.end, n.end) : max(t.start, n.start)])
                for n in neighbours
            )
            if not joined:
                continue
        kept.append(t)
    return kept


def _plan(
    language: Language,
    tokens: list[Token],
    times: list[TimeMatch],
    filters: list[Filter],
    thresholds: list[Filter],
    implied: list[Filter],
    tenant_id: int | None,
) -> Plan:
    def no(zh: str, en: str) -> CannotAnswer:
        return refuse(language, zh, en)

    metrics: list[Metric] = []
    for t in tokens:
        if t.kind == "metric" and sem.METRICS[t.value] not in metrics:
            metrics.append(sem.METRICS[t.value])

    # Breakdown: a dimension after by/per/each/按/每个/top N/which, or an adverb like daily.
    breakdowns: list[Breakdown] = []
    ranking: tuple[str, int | None] | None = None
    which = False
    dangling: list[Token] = []
    named = {f.column for f in filters}
    kinds = {"offer": "offer_name", "offer_id": "offer_id", "partner": "partner"}
    for i, t in enumerate(tokens):
        previous = tokens[i - 1] if i else None
        if t.kind == "self_breakdown":
            breakdowns.append(sem.BREAKDOWNS[t.value])
        elif t.kind == "dimension":
            lead = previous is not None and previous.kind in (
                "by",
                "top",
                "bottom",
                "which",
                "most",
            )
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            # Chinese "offer的佣金": a dimension right before a measure is what to break by.
            before_measure = (
                language == "zh"
                and following is not None
                and following.kind == "metric"
                and kinds.get(t.value) not in named
            )
            if lead or before_measure:
                breakdowns.append(sem.BREAKDOWNS[t.value])
            else:
                dangling.append(t)
        if t.kind in ("top", "bottom"):
            ranking = (t.kind, t.number)
        elif t.kind == "most" and ranking is None:
            ranking = (t.value, None)
        elif t.kind == "which":
            which = True
    unique: list[Breakdown] = []
    for b in breakdowns:
        if b not in unique:
            unique.append(b)
    if len(unique) > 1:
        raise no(
            "一次只能按一个维度拆分（例如只按 offer 或只按天）。",
            "Only one breakdown at a time (for example by offer, or by day).",
        )
    breakdown = unique[0] if unique else None

    statuses = [t.value for t in tokens if t.kind == "status"]
    units = [t for t in tokens if t.kind == "unit"]
    currencies = [t.value for t in tokens if t.kind == "currency"]
    has_currency_word = any(t.kind == "currency_word" for t in tokens) or any(
        t.kind == "dimension" and t.value == "currency" for t in dangling
    )
    dangling = [t for t in dangling if not (t.value == "currency" and (units or currencies))]
    # A dimension word next to a name of that kind ("offer Shopee MY", "渠道 acme",
    # "status approved") is part of the filter, not a breakdown.
    if dangling:
        named |= {"status"} if statuses else set()
        kinds["status"] = "status"
        leftover = [t for t in dangling if kinds.get(t.value) not in named]
        if leftover:
            raise no(
                "不确定要按哪个维度统计：请写“按…”或“每个…”。",
                "Unclear what to break down by: say “by …” or “per …”.",
            )

    if not metrics:
        if breakdown is None and ranking is None and not which:
            raise no(
                "没有看出要统计的指标（转化数、销售额、佣金、客单价、通过率……）。",
                "No measure found (conversions, sales, payout, average order value, "
                "approval rate, duplicates, rejections …).",
            )
        metrics = [sem.METRICS["conversions"]]

    explicit_unit: Unit | None = units[0].value if units else None  # type: ignore[assignment]
    money = any(m.money for m in metrics)
    for t in units:
        if t.value in ("usd", "myr") and (has_currency_word or not money):
            filters.append(_currency_filter(t.value))
            explicit_unit = None
    if len({t.value for t in units}) > 1 and money and not has_currency_word:
        raise no(
            "一次只能用一种金额单位（MYR、USD 或本币）。",
            "One money unit at a time (MYR, USD or local currency).",
        )
    for code in dict.fromkeys(currencies):
        filters.append(_currency_filter(code))
    filters += implied
    codes = {f.values[0] for f in filters if f.column == "currency"}
    if len(codes) > 1:
        listed = tuple(sorted(str(c) for c in codes))
        filters = [f for f in filters if f.column != "currency"]
        filters.append(
            Filter(
                "currency",
                "in",
                listed,
                f"币种为 {', '.join(listed)}",
                f"currency is {', '.join(listed)}",
            )
        )
    unit: Unit = explicit_unit or sem.DEFAULT_UNIT
    if explicit_unit is None and codes - {"USD", "MYR"} and money:
        unit = "local"  # "SGD sales": amounts in SGD, the currency asked for
    if explicit_unit == "local" and not money:
        raise no("“本币”只适用于金额类指标。", "“Local currency” applies to money measures only.")

    for code in dict.fromkeys(statuses):
        label = sem.STATUS_LABELS[code]
        filters.append(
            Filter("status", "=", (code,), f"状态 = {label['zh']}", f"status = {label['en']}")
        )
    if len(set(statuses)) > 1:
        raise no(
            "一次只能筛选一种状态；要看全部状态请用“按状态”。",
            "One status at a time; ask “by status” to see them all.",
        )
    filters += thresholds

    plan = Plan(language, metrics, unit, breakdown, filters, tenant_id=tenant_id)

    # Time: one period, or two compared.
    compare = any(t.kind == "compare" for t in tokens)
    if len(times) > 2:
        raise no("时间段太多：最多比较两个时间段。", "Too many periods: compare at most two.")
    if len(times) == 2:
        if not compare:
            raise no(
                "有两个时间段：要对比请写“对比”或“vs”。",
                "Two periods found: say “vs” or “compared to” to compare them.",
            )
        first, second = sorted((m.range for m in times), key=lambda r: r.start)
        plan.period, plan.previous = second, first
        if first.end > second.start:
            raise no("两个对比的时间段有重叠。", "The two periods overlap.")
    elif len(times) == 1:
        plan.period = times[0].range
        if compare:
            plan.previous = previous_period(plan.period)
    elif compare:
        raise no(
            "对比需要时间段，例如“本周和上周对比”。",
            "A comparison needs periods, e.g. “this week vs last week”.",
        )

    if ranking is not None:
        if breakdown is None:
            raise no(
                "排名需要一个维度，例如“销售额前5的offer”。",
                "Ranking needs a breakdown, e.g. “top 5 offers by sales”.",
            )
        direction, n = ranking
        plan.rank = "bottom" if direction == "bottom" else "top"
        if n is not None:
            plan.limit = n
        elif any(t.kind in ("top", "bottom") for t in tokens):
            plan.limit = DEFAULT_TOP  # "top offers": ten
        else:
            plan.limit = 1  # a superlative: "the offer with the most conversions"
        if not 1 <= plan.limit <= 1000:
            raise no("名次数量应在 1 到 1000 之间。", "Top/bottom N must be between 1 and 1000.")

    _check_sources(plan, no)
    if plan.unit == "local" and any(m.money for m in metrics):
        local_currency = [f for f in filters if f.column == "currency" and f.op == "="]
        if not local_currency and (breakdown is None or breakdown.key != "currency"):
            if breakdown is not None:
                raise no(
                    "不同币种的本币金额不能相加：请指定币种，或按币种统计。",
                    "Local amounts in different currencies cannot be added: name a "
                    "currency, or ask by currency.",
                )
            plan.breakdown = sem.BREAKDOWNS["currency"]
            plan.currency_added = True
    if plan.previous is not None and plan.breakdown is not None and plan.breakdown.time_unit:
        raise no(
            "对比两个时间段时不能再按时间拆分。",
            "A comparison of two periods cannot also be broken down by time.",
        )
    return plan


def _check_sources(plan: Plan, no: Callable[[str, str], CannotAnswer]) -> None:
    rejections = [m for m in plan.metrics if m.source == "rejections"]
    if not rejections:
        if plan.breakdown is not None and plan.breakdown.key == "reason":
            raise no("“原因”只适用于被拒收的回传。", "“Reason” applies to rejected postbacks only.")
        if any(m.key == "duplicates" for m in plan.metrics) and (
            any(f.column == "status" for f in plan.filters)
            or any(m.key not in ("duplicates", "conversions") for m in plan.metrics)
        ):
            raise no(
                "重复回传只能和转化数一起统计，且不能按状态筛选。",
                "Duplicates can be counted with conversions only, without a status filter.",
            )
        return
    if len(plan.metrics) > 1:
        raise no("被拒收的回传要单独统计。", "Ask about rejected postbacks on their own.")
    if plan.breakdown is not None and not plan.breakdown.rejections:
        raise no(
            "被拒收的回传只能按合作伙伴、原因或时间统计。",
            "Rejected postbacks can be broken down by partner, reason or time only.",
        )
    if any(f.column != "partner" for f in plan.filters):
        raise no(
            "被拒收的回传只能按时间和合作伙伴筛选。",
            "Rejected postbacks can be filtered by time and partner only.",
        )
