"""Cleaning and typing rules, including properties over generated input (hypothesis)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote, quote_from_bytes, unquote_plus
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from postback.ingest import fields

NOW = datetime(2026, 11, 25, tzinfo=UTC)
KL = ZoneInfo("Asia/Kuala_Lumpur")

amounts = st.decimals(
    min_value=Decimal("-999999999999.999999"),
    max_value=Decimal("999999999999.999999"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)


def with_thousands(value: Decimal) -> str:
    return f"{value:,f}"


@given(amounts)
def test_amounts_round_trip_exactly_with_or_without_separators(value):
    assert fields.parse_amount(format(value, "f")) == value
    assert fields.parse_amount(with_thousands(value)) == value


@given(st.text(max_size=30))
def test_amount_parser_returns_a_finite_decimal_or_refuses(text):
    try:
        amount = fields.parse_amount(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert amount.is_finite()
        assert abs(amount) < fields.MAX_AMOUNT


@given(
    st.one_of(
        st.text(max_size=30),
        st.from_regex(r"\A[+-]?[0-9]{0,14}(\.[0-9]{0,8})?\Z"),
        st.from_regex(r"\A[+-]?[0-9٠-٩²]{1,4}(\.[0-9]{0,3})?\Z"),
        st.from_regex(r"\A[+-]?[0-9]{0,4}(,[0-9]{0,4}){0,5}(\.[0-9]{0,8})?\Z"),
    )
)
@example("1,234,567.89")
@example("999,999,999,999.999999")
@example("1,000,000,000,000")
@example(",123")
@example("1,,234")
@example("1,234,")
@example("1234,567")
@example("999999999999.999999")
@example("1000000000000")
@example("-1000000000000.5")
@example("0000000000001")
@example("1.1234567")
@example("+.5")
@example("5.")
def test_fast_amount_path_agrees_with_the_full_parser(text):
    def outcome(parse):
        try:
            value = parse(text)
        except ValueError:
            return "refused"
        return (value, value.as_tuple())

    assert outcome(fields.parse_amount) == outcome(fields._parse_amount_fully)
    if outcome(fields.parse_amount) != "refused":  # what a row carries: plain ASCII decimal
        assert re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", fields.amount_text(text), re.ASCII)


@given(st.text(max_size=50))
def test_clean_never_returns_padding_macros_or_nul(text):
    try:
        cleaned = fields.clean(text)
    except ValueError as exc:
        assert "NUL" in str(exc)
        return
    if cleaned is not None:
        assert cleaned == cleaned.strip()
        assert cleaned
        assert not (
            cleaned.startswith("{") and cleaned.endswith("}") and cleaned[1:-1].isidentifier()
        )


@given(st.text(max_size=40))
def test_datetime_parser_is_total(text):
    try:
        moment = fields.parse_datetime(text, KL, NOW)
    except ValueError:
        return
    assert moment.tzinfo is not None
    assert fields.EARLIEST <= moment <= NOW + fields.LATEST_AHEAD


@given(st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2027, 1, 1)))
def test_naive_times_are_wall_clock_in_the_zone(naive):
    text = naive.replace(microsecond=0).strftime("%Y-%m-%d %H:%M:%S")
    moment = fields.parse_datetime(text, KL, NOW)
    assert moment.astimezone(KL).replace(tzinfo=None) == naive.replace(microsecond=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("myr", "MYR"), ("Sgd", "SGD"), ("usd", "USD"), ("thb", "THB")],
)
def test_currency(text, expected):
    assert fields.parse_currency(text) == expected


@pytest.mark.parametrize("text", ["RM", "XYZ", "US$", "MYRR"])
def test_unknown_currency(text):
    with pytest.raises(ValueError, match="ISO 4217"):
        fields.parse_currency(text)


@given(
    st.sampled_from(sorted(fields.STATUS_SYNONYMS)), st.sampled_from([str.upper, str.title, str])
)
def test_status_synonyms_ignore_case(word, case):
    assert fields.normalise_status(case(word)) == fields.STATUS_SYNONYMS[word]


@pytest.mark.parametrize(
    ("query", "pairs"),
    [
        ("a=1&b=2", [("a", "1"), ("b", "2")]),
        ("a=1+2&b%20c=x%2By", [("a", "1 2"), ("b c", "x+y")]),  # `+` is a space, %2B a plus
        ("name=Shopee%20MY&n=%E8%B4%A7", [("name", "Shopee MY"), ("n", "货")]),
        ("a=%zz&b=%4&c=100%", [("a", "%zz"), ("b", "%4"), ("c", "100%")]),  # kept as sent
        ("a=&b&=c&&", [("a", ""), ("b", ""), ("", "c")]),  # blank values kept
        ("a=1;b=2&a=3", [("a", "1;b=2"), ("a", "3")]),  # only `&` separates
        ("a=x=y", [("a", "x=y")]),
    ],
)
def test_query_pairs_are_decoded_as_the_standard_library_does(query, pairs):
    from postback.ingest.routes import _pairs

    assert _pairs(query, "query") == pairs


@pytest.mark.parametrize("query", ["a=%FF", "a=%C3", "%FF=1"])
def test_an_escape_of_invalid_utf8_is_refused(query):
    from postback.ingest.routes import BadRequest, _pairs

    with pytest.raises(BadRequest) as refused:
        _pairs(query, "query")
    assert refused.value.reason == "bad_encoding"
    assert refused.value.errors == [{"field": "query", "message": "is not valid UTF-8"}]


query_text = st.text(alphabet=st.sampled_from(list("ab=&+%;é 0123456789ABCDEFxyz")), max_size=40)


@given(query_text)
def test_query_splitting_matches_the_standard_library(text):
    from urllib.parse import parse_qsl

    from postback.ingest.routes import split_query

    try:
        expected = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            split_query(text)
        return
    assert split_query(text) == expected


percent_text = st.lists(
    st.one_of(
        st.sampled_from(list("%%0123456789abcdefABCDEFxz \t=_.é中\n\r+~")),
        st.text(max_size=3).map(lambda t: quote(t, safe="")),  # real escapes, UTF-8 included
        st.binary(max_size=2).map(lambda b: quote_from_bytes(b)),  # escapes of any bytes
    ),
    max_size=12,
).map("".join)


@given(percent_text)
@settings(max_examples=2000)
def test_percent_decoding_matches_the_standard_library(text):
    from postback.ingest.routes import _unquote_plus

    try:
        expected = unquote_plus(text, errors="strict")
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            _unquote_plus(text)
        return
    assert _unquote_plus(text) == expected
