"""Macros: names, values, encoding, the partner's share, masking secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from postback.forwarding import macros

ROW = {
    **dict.fromkeys(macros.PLAIN),
    "conversion_id": "C-1",
    "offer_id": "1001",
    "payout_local": Decimal("10.000000"),
    "usd_payout": Decimal("2.130000"),
    "myr_payout": None,
    "sale_amount_local": Decimal("100.5"),
    "usd_sale_amount": None,
    "myr_sale_amount": Decimal("0.012500"),
    "datetime_conversion": datetime(2026, 11, 20, 2, 15, tzinfo=UTC),
    "datetime_conversion_updated": None,
    "received_at": datetime(2026, 11, 20, 2, 15, 30, tzinfo=UTC),
    "conversion_currency": "MYR",
}


def values(**overrides):
    args = {
        "event": "created",
        "status": "approved",
        "attempt": 2,
        "delivery_id": 77,
        "tenant": "acme",
        "payout_percent": None,
        "zone": ZoneInfo("Asia/Kuala_Lumpur"),
    }
    args.update(overrides)
    return macros.values(ROW, **args)


def test_every_macro_has_a_value():
    assert set(values()) == set(macros.MACROS)


def test_values_as_text():
    found = values()
    assert found["payout"] == "10.00"
    assert found["usd_payout"] == "2.13"
    assert found["myr_payout"] == ""
    assert found["sale_amount"] == "100.50"
    assert found["myr_sale_amount"] == "0.0125"
    assert found["datetime_conversion"] == "2026-11-20T10:15:00+08:00"
    assert found["datetime_conversion_updated"] == ""
    assert found["status"] == "approved"
    assert (found["event"], found["attempt"], found["delivery_id"]) == ("created", "2", "77")


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [
        ("10.00", None, "10.00"),
        ("10.00", "100", "10.00"),
        ("10.00", "0", "0.00"),
        ("10.00", "50", "5.00"),
        ("6.03", "37.5", "2.26"),  # 2.26125
        ("0.05", "50", "0.03"),  # 0.025, half up
        ("1234.56", "12.34", "152.34"),  # 152.344704
    ],
)
def test_share(amount, percent, expected):
    share = macros.share_of(Decimal(amount), None if percent is None else Decimal(percent))
    assert format(share, "f") == expected


def test_unknown():
    assert macros.unknown("http://x/{conversion_id}?a={payot}&b={payot}&c={ status}") == [
        "payot",
        " status",
    ]
    assert macros.unknown("http://x/?a={" + "}&b={".join(sorted(macros.MACROS)) + "}") == []


def test_fill_encodes_every_value():
    url = macros.fill("http://x/p/{a}?q={b}&{c}", {"a": "x/y z", "b": "a&b=c#d", "c": "é"})
    assert url == "http://x/p/x%2Fy%20z?q=a%26b%3Dc%23d&%C3%A9"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://t.example/pb?token=abc123&c=1", "https://t.example/pb?token=***&c=1"),
        (
            "https://t.example/pb?API_KEY=k&Sig=s&c=1",
            "https://t.example/pb?API_KEY=***&Sig=***&c=1",
        ),
        ("https://user:pw@t.example/pb", "https://user:***@t.example/pb"),
        ("https://t.example/pb?c=1&flag", "https://t.example/pb?c=1&flag"),
    ],
)
def test_masked(url, shown):
    assert macros.masked(url) == shown
