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


# ---- a partner's parsing options -----------------------------------------------------------


def with_decimal_comma(value: Decimal) -> str:
    """The German way of writing a number, built without the code under test: 1.234.567,89"""
    return f"{value:,f}".replace(",", "_").replace(".", ",").replace("_", ".")


@given(amounts)
def test_decimal_comma_amounts_round_trip_exactly(value):
    plain = format(value, "f").replace(".", ",")
    assert Decimal(fields.comma_amount_text(plain)) == value
    assert Decimal(fields.comma_amount_text(with_decimal_comma(value))) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,34", "12.34"),
        ("1.234,56", "1234.56"),
        ("1.234", "1234"),
        ("-0,5", "-0.5"),
        ("1.234.567", "1234567"),
        ("999.999.999.999,999999", "999999999999.999999"),
    ],
)
def test_decimal_comma(text, expected):
    assert Decimal(fields.comma_amount_text(text)) == Decimal(expected)


@pytest.mark.parametrize("text", ["12.5", "1,234.56", "1.23,4", "1,2,3", ",", "12,", "1.2345"])
def test_decimal_comma_refuses_what_is_ambiguous(text):
    with pytest.raises(ValueError, match="decimal comma"):
        fields.comma_amount_text(text)


@pytest.mark.parametrize(
    ("text", "wall_clock"),
    [
        ("31/12/2025 23:59:59", datetime(2025, 12, 31, 23, 59, 59)),
        ("03/11/2026 08:05", datetime(2026, 11, 3, 8, 5)),
        ("3-11-2026", datetime(2026, 11, 3)),
        ("03.11.2026T08:05:09", datetime(2026, 11, 3, 8, 5, 9)),
        # Unambiguous forms keep their meaning for such a partner too.
        ("2026-11-03 08:05:09", datetime(2026, 11, 3, 8, 5, 9)),
    ],
)
def test_day_first_dates(text, wall_clock):
    assert fields.day_first_datetime(text, KL, NOW) == wall_clock.replace(tzinfo=KL)


def test_day_first_keeps_epoch_and_offsets_absolute():
    assert fields.day_first_datetime("1764000000", KL, NOW) == datetime.fromtimestamp(
        1764000000, UTC
    )
    assert fields.day_first_datetime("2026-11-03T08:05:09+07:00", KL, NOW) == datetime(
        2026, 11, 3, 1, 5, 9, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["12/31/2025", "31/02/2026", "31/12/1999", "03/11/26"])
def test_day_first_refuses_impossible_or_out_of_range_dates(text):
    with pytest.raises(ValueError, match=r"date|out of range|must be"):
        fields.day_first_datetime(text, KL, NOW)


def test_options_apply_only_when_given():
    params = {"conversion_id": "X", "usd_payout": "12,34", "datetime_conversion": "03/11/2026"}
    _, errors = fields.typed_values(params, KL, NOW)
    assert [e["field"] for e in errors] == ["usd_payout", "datetime_conversion"]
    options = fields.Parsing.of(day_first_dates=True, decimal_comma=True)
    values, errors = fields.typed_values(params, KL, NOW, options)
    assert errors == []
    assert Decimal(values["usd_payout"]) == Decimal("12.34")
    assert values["datetime_conversion"] == datetime(2026, 11, 3, tzinfo=KL)
    only_dates = fields.Parsing.of(day_first_dates=True, decimal_comma=False)
    _, errors = fields.typed_values(params, KL, NOW, only_dates)
    assert [e["field"] for e in errors] == ["usd_payout"]
    assert fields.Parsing.of(day_first_dates=False, decimal_comma=False) is None
