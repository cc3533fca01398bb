"""Row building: the one-pass typing of what was sent agrees with the full, ordered pass."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from postback.ingest import fields, service
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


def full_pass(params: dict[str, Any]) -> dict[str, Any] | None:
    try:
        values = service._checked_values(params, KL, NOW)
    except fields.FieldErrors:
        return None
    return {name: value for name, value in values.items() if value is not None}


@given(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=12))
@example({"conversion_id": "C-1", "aff_sub1": "from alias"})
@example({"conversion_id": "C-1", "aff_sub": None, "aff_sub1": "from alias"})
@example({"conversion_id": "C-1", "aff_sub": "canonical", "aff_sub1": "alias"})
@example({"conversion_id": "C-1", "aff_sub": ["a"], "aff_sub1": "alias"})
@example({"conversion_id": "C-1", "usd_payout": "abc", "conversion_currency": "XYZ"})
def test_one_pass_typing_agrees_with_the_full_pass(params):
    """What the one pass over the parameters sent yields (None: something is wrong, let the
    full pass name it) is what the full pass over every known field yields."""
    assert service._present_values(params, KL, NOW) == full_pass(params)


def test_every_bad_field_is_named_in_a_fixed_order():
    errors = build({"conversion_currency": "XYZ", "usd_payout": "abc", "conversion_id": "C-9"})
    assert [e["field"] for e in errors] == ["usd_payout", "conversion_currency"]


@pytest.mark.parametrize(
    ("params", "column", "expected"),
    [
        ({"conversion_id": "C", "aff_sub1": "x"}, 22, "x"),
        ({"conversion_id": "C", "aff_sub": None, "aff_sub1": "x"}, 22, "x"),
        ({"conversion_id": "C", "aff_sub": "y", "aff_sub1": "x"}, 22, "y"),
        ({"conversion_id": "C", "aff_sub": "{aff_sub}"}, 22, None),
        ({"conversion_id": " C "}, 2, "C"),
        ({"conversion_id": "C", "status": "Approved"}, 15, "approved"),
        ({"conversion_id": "C"}, 15, "unknown"),
    ],
)
def test_typed_values(params, column, expected):
    assert build(params)[column] == expected
