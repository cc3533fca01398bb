"""Row building: the one-pass typing of what was sent agrees with a field-by-field reference."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from postback.ingest import fields
from postback.ingest.service import Received, build_row
from postback.tenants.directory import TenantInfo

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
KL = ZoneInfo("Asia/Kuala_Lumpur")
TENANT = TenantInfo(7, "p", KL, True, True, None, False)
RECEIPT = uuid.UUID(int=1)
NAMES = sorted(fields.KNOWN_FIELDS | set(fields.ALIASES) | {"unknown", "ts_token", "click_id"})
VALUES = st.one_of(
    st.sampled_from(
        [
            "C-1",
            "  Shopee MY ",
            "1,234.50",
            "12.5",
            "1,2",
            "abc",
            "myr",
            "XYZ",
            "2026-11-24 10:15:00",
            "2026-11-24T10:15:00+08:00",
            "1795536000",
            "1999-01-01",
            "{aff_sub}",
            "",
            " ",
            "pending",
            "Approved",
            "x" * 300,
            "a\x00b",
        ]
    ),
    st.text(max_size=12),
    st.none(),
    st.integers(-5, 10**6),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
)


def build(params: dict[str, Any]) -> Any:
    received = Received(params, dict(params), "GET", "198.51.100.7", NOW)
    try:
        return build_row(received, TENANT, KL, RECEIPT)
    except fields.FieldErrors as exc:
        return exc.errors


def _get(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None:
        for alias, canonical in fields.ALIASES.items():
            if canonical == name and alias in params:
                return params[alias]
    return value


def _reference_type(name: str, text: str) -> Any:
    if name in fields.AMOUNT_FIELDS:
        return fields.amount_text(text)
    if name in fields.DATETIME_FIELDS:
        return fields.parse_datetime(text, KL, NOW)
    if name == "conversion_currency":
        return fields.parse_currency(text)
    limit = fields.MAX_TEXT_LENGTH if name in fields.TEXT_FIELDS_LONG else fields.MAX_ID_LENGTH
    if len(text) > limit:
        raise ValueError(f"is longer than {limit} characters")
    return text


ORDER = (
    "conversion_id",
    *fields.TEXT_FIELDS_SHORT,
    *fields.TEXT_FIELDS_LONG,
    *fields.AMOUNT_FIELDS,
    "conversion_currency",
    *fields.DATETIME_FIELDS,
    "status",
)


def reference(params: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The typing every known field by name (and alias), in the order errors are reported:
    the plain statement of the rules that the one pass must agree with."""
    values: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for name in ORDER:
        try:
            text = fields.clean(_get(params, name))
            if text is not None:
                values[name] = _reference_type(name, text)
            elif name == "conversion_id":
                errors.append({"field": name, "message": "is required"})
        except ValueError as exc:
            errors.append({"field": name, "message": str(exc)})
    return values, errors


@given(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=12))
@example({"conversion_id": "C-1", "aff_sub1": "from alias"})
@example({"conversion_id": "C-1", "aff_sub": None, "aff_sub1": "from alias"})
@example({"conversion_id": "C-1", "aff_sub": "canonical", "aff_sub1": "alias"})
@example({"conversion_id": "C-1", "aff_sub": ["a"], "aff_sub1": "alias"})
@example({"conversion_id": "C-1", "usd_payout": "abc", "conversion_currency": "XYZ"})
@example({"status": "x" * 300, "usd_payout": "abc", "conversion_id": ["C"], "offer_id": "a\x00"})
def test_one_pass_typing_agrees_with_the_reference(params):
    """The one pass over the parameters sent yields the values and the errors, in order, of
    typing every known field by name."""
    values, errors = fields.typed_values(params, KL, NOW)
    expected_values, expected_errors = reference(params)
    assert errors == expected_errors
    if not errors:
        assert values == expected_values


def test_every_bad_field_is_named_in_a_fixed_order():
    errors = build({"conversion_currency": "XYZ", "usd_payout": "abc", "conversion_id": "C-9"})
    assert [e["field"] for e in errors] == ["usd_payout", "conversion_currency"]


@pytest.mark.parametrize(
    ("params", "column", "expected"),
    [
        ({"conversion_id": "C", "aff_sub1": "x"}, "aff_sub", "x"),
        ({"conversion_id": "C", "aff_sub": None, "aff_sub1": "x"}, "aff_sub", "x"),
        ({"conversion_id": "C", "aff_sub": "y", "aff_sub1": "x"}, "aff_sub", "y"),
        ({"conversion_id": "C", "aff_sub": "{aff_sub}"}, "aff_sub", None),
        ({"conversion_id": " C "}, "conversion_id", "C"),
        ({"conversion_id": "C", "status": "Approved"}, "status", "approved"),
        ({"conversion_id": "C"}, "status", "unknown"),
    ],
)
def test_typed_values(params, column, expected):
    assert getattr(build(params), column) == expected
