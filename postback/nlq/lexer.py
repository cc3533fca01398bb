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
    matched against `vocabulary`; words nobody recognised (after correcting typos) are
    listed as ignored. Raises CannotAnswer for an empty or too long question, or one that
    asks to change data or is written in SQL."""
    language = language_of(question)
    if not question.strip():
        raise refuse(language, "请输入一个问题。", "Ask a question.")
    if len(question) > MAX_QUESTION_CHARS:
        raise refuse(
            language,
            f"问题太长（最多 {MAX_QUESTION_CHARS} 个字符）。",
            f"The question is too long (at most {MAX_QUESTION_CHARS} characters).",
        )
    normalised = normalise(question)
    lexed, unknown = _read(normalised, language, now, zone, vocabulary)
    if unknown:
        corrected = _corrected(normalised, unknown)
        if corrected != normalised:
            lexed, unknown = _read(corrected, language, now, zone, vocabulary)
    commands = [w for w in unknown if w in words.COMMAND_WORDS_EN or "=" in w or ";" in w]
    if commands or words.COMMAND_TEXT.search(normalised):
        raise refuse(
            language,
            "只能回答关于转化数据的问题（只读）；不能修改数据，也不接受 SQL 或指令。",
            "Only questions about the conversions can be answered (read-only); data cannot "
            "be changed, and SQL or instructions are not taken.",
        )
    lexed.ignored[:] = list(dict.fromkeys(unknown))
    lexed.unknown_names[:] = _name_like(question, lexed)
    return lexed


_GAP = re.compile(r"\s*(?:is|=|:|为|是|named|called|叫)?\s*")


def _name_like(question: str, lexed: Lexed) -> list[str]:
    """The ignored words written as names: capitalised after the first word, Latin words in
    a Chinese question, or right next to a word like "offer", "partner" or "渠道"."""
    capitalised = {
        w.lower() for w in re.findall(r"[A-Za-z][\w'-]*", question)[1:] if w[0].isupper()
    }
    dimensions = [
        t for t in lexed.tokens if t.kind == "dimension" and t.value in ("offer", "partner")
    ]
    found = []
    for word in lexed.ignored:
        latin = word.isascii() and any(c.isalpha() for c in word)
        if word in capitalised or (lexed.language == "zh" and latin):
            found.append(word)
            continue
        for m in re.finditer(re.escape(word), lexed.text):
            if any(
                _GAP.fullmatch(lexed.text[t.end : m.start()])
                or _GAP.fullmatch(lexed.text[m.end() : t.start])
                for t in dimensions
            ):
                found.append(word)
                break
    return found


def _read(
    normalised: str, language: Language, now: datetime, zone: ZoneInfo, vocabulary: Vocabulary
) -> tuple[Lexed, list[str]]:
    """The phrases of a normalised question, and the words left over."""
    text = _Text(normalised)
    times = find_time_ranges(text.text, now, zone)
    for match in times:
        text.take(*match.span)
    names = _id_filters(text, vocabulary)
    thresholds, implied, bare = _thresholds(text)
    names += _names(text, vocabulary)
    tokens = _fixed_words(text)
    for token in tokens:
        text.take(token.start, token.end)
    unknown = _leftover(text.current())
    lexed = Lexed(
        language, text.text, times, tokens, names, thresholds, implied, now, zone, [], bare
    )
    return lexed, unknown


# ---------------------------------------------------------------------------- typos

# English time words (timephrases.py) the typo corrector may correct to.
_TIME_WORDS = frozenset(
    [
        "today",
        "yesterday",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "days",
        "hours",
        "last",
        "past",
        "previous",
        "since",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "this",
    ]
)


def _vocabulary_words() -> frozenset[str]:
    plain = {w for w in words.STOPWORDS_EN if len(w) >= 4 and w.isalpha()}
    return frozenset(words.KNOWN_EN | _TIME_WORDS | plain) - words.COMMAND_WORDS_EN


_KNOWN = _vocabulary_words()


def _distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from a to b; limit+1 when
    more than `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@lru_cache(maxsize=4096)
def correction(word: str) -> str | None:
    """The one known word `word` is a typo of: one edit away (two for words of seven
    letters or more), the same first letter; None when none or several are."""
    if len(word) < 4 or not word.isalpha() or not word.isascii():
        return None
    limit = 1 if len(word) < 7 else 2
    best: list[tuple[int, int, str]] = []
    for known in _KNOWN:
        if known[0] != word[0]:
            continue
        d = _distance(word, known, limit)
        if d <= limit:
            best.append((d, abs(len(known) - len(word)), known))
    if not best:
        return None
    best.sort()
    if len(best) > 1 and best[1][:2] == best[0][:2]:
        return None
    return best[0][2]


def _corrected(text: str, unknown: list[str]) -> str:
    for word in dict.fromkeys(unknown):
        fixed = correction(word)
        if fixed is not None:
            text = re.sub(rf"(?<![a-z0-9_]){re.escape(word)}(?![a-z0-9_])", fixed, text)
    return text


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


def _thresholds(text: _Text) -> tuple[list[Filter], list[Filter], list[Token]]:
    """Amount thresholds ("orders over 100 MYR", "佣金大于5美元") and the currency filters
    they imply; and bare amounts ("over 100"), whose currency and measure are not guessed."""
    filters: list[Filter] = []
    currencies: list[Filter] = []
    bare: list[Token] = []
    for pattern in words.THRESHOLDS:
        for m in list(pattern.finditer(text.current())):
            threshold = _threshold(m)
            if threshold is None:
                if (m["op"] or m["post"]) and not (m["measure"] or m["cur1"] or m["cur2"]):
                    bare.append(Token("amount", m[0], m.start(), m.end()))
                    text.take(*m.span())
                continue
            filters.append(threshold)
            code = _unit_of(m["cur0"] or m["cur1"] or m["cur2"])[1]
            if code:
                currencies.append(currency_filter(code.lower()))
            text.take(*m.span())
    return filters, currencies, bare


def _threshold(m: re.Match[str]) -> Filter | None:
    measure, cur = m["measure"], m["cur0"] or m["cur1"] or m["cur2"]
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
        column = re.sub(r"^(aff|adv)_?sub", r"\1_sub", m["col"]) if m["col"] else "aff_sub"
        value = m["value"] or m["value2"]
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
