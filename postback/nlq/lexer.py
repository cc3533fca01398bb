"""A question → the phrases it is made of (`Lexed`), or CannotAnswer.

The question is normalised, then every phrase of the lexicon is found, each span taken once:
time phrases first, then offer ids and sub-id values, amount thresholds, names of offers and
partners taken from the data, and the fixed words (metrics, dimensions, statuses, units,
currencies, ranking and comparison words). What is left once those and filler words are
removed must be empty: a word the engine does not understand makes it refuse (with
suggestions) rather than answer a different question.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from postback.nlq import lexicon as words
from postback.nlq.plan import (
    DEFAULT_UNIT,
    MAX_QUESTION_CHARS,
    MONEY_COLUMNS,
    UNIT_LABELS,
    Filter,
    Language,
    Lexed,
    Token,
    Unit,
    Vocabulary,
    currency_filter,
    refuse,
)
from postback.nlq.timephrases import digits_for_numerals, find_time_ranges, longest_apart

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def language_of(question: str) -> Language:
    return "zh" if _CJK.search(question) else "en"


def normalise(question: str) -> str:
    text = unicodedata.normalize("NFKC", question).lower()
    text = text.replace("\u3000", " ").replace("’", "'").replace("‘", "'")
    for alias, brand in words.BRAND_ALIASES.items():
        text = text.replace(alias, f" {brand} ")
    text = re.sub(r"\s+", " ", text).strip()
    return digits_for_numerals(text)


def lex(question: str, *, now: datetime, zone: ZoneInfo, vocabulary: Vocabulary) -> Lexed:
    """Every phrase of `question`, with time phrases resolved at `now` in `zone` and names
    matched against `vocabulary`. Raises CannotAnswer for an empty or too long question, or
    one with a word nobody recognised."""
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
    names = _id_filters(text, vocabulary)
    thresholds, implied = _thresholds(text)
    names += _names(text, vocabulary)
    tokens = _fixed_words(text)
    for token in tokens:
        text.take(token.start, token.end)
    unknown = _leftover(text.current())
    if unknown:
        shown = " ".join(dict.fromkeys(unknown))[:80]
        raise refuse(
            language, f"无法理解：“{shown}”。", f"Not understood: “{shown}”.", unknown=True
        )
    return Lexed(language, text.text, times, tokens, names, thresholds, implied, now, zone)


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


def _longest(candidates: Iterable[Token]) -> list[Token]:
    return longest_apart(candidates, lambda t: (t.start, t.end))


@cache
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# ---------------------------------------------------------------------------- fixed words


def _fixed_words(text: _Text) -> list[Token]:
    current = text.current()
    found: list[Token] = []
    for kind, value, pattern in words.LEXICON:
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


def _unit_of(currency: str | None) -> tuple[Unit | None, str | None]:
    """The unit an amount is in, and the currency code to filter on for local amounts."""
    if currency is None:
        return None, None
    if currency in words.USD_WORDS:
        return "usd", None
    if currency in words.MYR_WORDS:
        return "myr", None
    return "local", currency.upper()


def _thresholds(text: _Text) -> tuple[list[Filter], list[Filter]]:
    """Amount thresholds ("orders over 100 MYR", "佣金大于5美元") and the currency filters
    they imply. A bare number without a currency or an amount word is not taken."""
    filters: list[Filter] = []
    currencies: list[Filter] = []
    for pattern in words.THRESHOLDS:
        for m in list(pattern.finditer(text.current())):
            threshold = _threshold(m)
            if threshold is None:
                continue
            filters.append(threshold)
            code = _unit_of(m["cur1"] or m["cur2"])[1]
            if code:
                currencies.append(currency_filter(code.lower()))
            text.take(*m.span())
    return filters, currencies


def _threshold(m: re.Match[str]) -> Filter | None:
    measure, cur = m["measure"], m["cur1"] or m["cur2"]
    if not measure and not cur:
        return None
    op_word = m["op"] or ""
    op = (
        words.OPERATORS_EN.get(op_word)
        or words.OPERATORS_ZH.get(op_word)
        or words.OPERATORS_AFTER_ZH.get(m["post"] or "")
    )
    if op is None:
        return None
    try:
        amount = Decimal(m["num"])
    except InvalidOperation:
        return None
    unit, code = _unit_of(cur)
    money: Literal["sale", "payout"] = (
        "payout" if measure and words.PAYOUT_MEASURE.match(measure) else "sale"
    )
    column = MONEY_COLUMNS[(money, unit or DEFAULT_UNIT)]
    what_zh = "佣金" if money == "payout" else "订单金额"
    what_en = "payout" if money == "payout" else "sale amount"
    unit_label = code or UNIT_LABELS[unit or DEFAULT_UNIT]["en"]
    return Filter(
        column,
        op,  # type: ignore[arg-type]
        (amount,),
        f"每笔{what_zh} {op} {amount} {unit_label}",
        f"{what_en} per conversion {op} {amount} {unit_label}",
    )


# ---------------------------------------------------------------------------- names


def _name_pattern(name: str) -> str | None:
    parts = re.findall(r"[a-z0-9]+|[\u3400-\u9fff]", unicodedata.normalize("NFKC", name).lower())
    if not parts:
        return None
    body = r"[^a-z0-9\u3400-\u9fff]{0,3}".join(re.escape(p) for p in parts)
    return rf"(?<![a-z0-9]){body}(?![a-z0-9])"


def _is_plain_word(text: str) -> bool:
    """A word the lexicon or the filler list already gives a meaning to."""
    if text in words.STOPWORDS_EN or len(text) < 3:
        return True
    return any(_rx(p).fullmatch(text) for _, _, p in words.LEXICON)


_NameMatcher = tuple[str, re.Pattern[str], tuple[str, ...]]


@lru_cache(maxsize=16)
def _name_matchers(vocabulary: Vocabulary) -> list[_NameMatcher]:
    """Patterns for every offer name, every brand that starts offer names, and every
    partner slug and name (built once per set of names)."""
    matchers: list[_NameMatcher] = []

    def add(kind: str, pattern: str | None, names: tuple[str, ...]) -> None:
        if pattern is not None:
            matchers.append((kind, re.compile(pattern), names))

    by_prefix: dict[str, set[str]] = {}
    for offer in vocabulary.offers:
        add("offer", _name_pattern(offer.name), (offer.name,))
        parts = re.findall(r"[a-z0-9]+", offer.name.lower())
        for size in range(1, len(parts)):
            prefix = " ".join(parts[:size])
            if not _is_plain_word(prefix):
                by_prefix.setdefault(prefix, set()).add(offer.name)
    for prefix, starting in by_prefix.items():
        add("offer", _name_pattern(prefix), tuple(sorted(starting)))
    for partner in vocabulary.partners:
        for label in {partner.slug, partner.name or partner.slug}:
            if not _is_plain_word(label.lower()):
                add("partner", _name_pattern(label), (partner.slug,))
    return matchers


def _names(text: _Text, vocabulary: Vocabulary) -> list[Filter]:
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
        filters.append(_one_of("offer_name", offers, "offer 为", "offer is"))
    if partners:
        filters.append(_one_of("partner", partners, "合作伙伴为", "partner is"))
    return filters


def _one_of(column: str, values: Iterable[str], zh: str, en: str) -> Filter:
    listed = tuple(sorted(values))
    shown = ", ".join(listed)
    return Filter(column, "in", listed, f"{zh} {shown}", f"{en} {shown}")


def _id_filters(text: _Text, vocabulary: Vocabulary) -> list[Filter]:
    filters = []
    for m in list(words.OFFER_ID.finditer(text.current())):
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
    for m in list(words.SUB_VALUE.finditer(text.current())):
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

_STOP_ZH = sorted(words.STOPWORDS_ZH, key=len, reverse=True)
_WORD = re.compile(r"[a-z0-9_'$%.\-]+|[^\sa-z0-9]")
_PUNCTUATION = re.compile(r"[?？!！,，.。:：;；、\"'“”‘’()（）\[\]【】/\\|~`^*+=<>@&#-]+")


def _leftover(text: str) -> list[str]:
    """Words nobody recognised."""
    for word in _STOP_ZH:
        text = text.replace(word, " ")
    unknown = []
    for word in _WORD.findall(text):
        word = word.strip(".-'")
        if not word or word in words.STOPWORDS_EN:
            continue
        if _PUNCTUATION.fullmatch(word):
            continue
        unknown.append(word)
    return unknown
