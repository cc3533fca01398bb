"""Involve Asia conversion report exports written by the tests: the same rows as CSV or XLSX,
with English or Chinese headers, and the same rows as live postback parameters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

# The postback field each column carries, with its English and Chinese header.
COLUMNS = (
    ("conversion_id", "Conversion ID", "转化ID"),
    ("offer_id", "Offer ID", "活动ID"),
    ("offer_name", "Offer Name", "活动名称"),
    ("order_id", "Order ID", "订单号"),
    ("sale_amount_local", "Sale Amount", "销售额"),
    ("usd_sale_amount", "USD Sale Amount", "销售额(USD)"),
    ("payout_local", "Payout", "佣金"),
    ("usd_payout", "USD Payout", "佣金(USD)"),
    ("conversion_currency", "Currency", "币种"),
    ("status", "Status", "状态"),
    ("datetime_conversion", "Datetime Conversion", "转化时间"),
    ("aff_sub", "Aff Sub 1", "子ID1"),
    ("aff_sub2", "Aff Sub 2", "子ID2"),
    ("adv_sub", "Adv Sub", "广告主子ID"),
)
FIELDS = tuple(field for field, _, _ in COLUMNS)

# Rows as a spreadsheet holds them: amounts as numbers, times as datetimes. The last row is a
# later status of the first conversion (the advertiser approved it).
ROWS: tuple[tuple[Any, ...], ...] = (
    ("IA-9001", "3456", "Shopee MY", "SO-1", 1234.5, 276.4, 61.73, 13.82, "MYR", "Pending",
     datetime(2026, 10, 5, 10, 15), "click-a", None, "adv-1"),
    ("IA-9002", "7788", "Lazada 精选", "LZ-2", 50, 11.2, 2.5, 0.56, "myr", "approved",
     datetime(2026, 10, 6, 23, 59, 59), "click-b", "camp 2", None),
    ("IA-9003", "3456", "Shopee MY", None, 99.99, 22.4, 4.99, 1.12, "MYR", "Rejected",
     datetime(2026, 10, 7, 0, 0), None, None, None),
    ("IA-9001", "3456", "Shopee MY", "SO-1", 1234.5, 276.4, 61.73, 13.82, "MYR", "Approved",
     datetime(2026, 10, 5, 10, 15), "click-a", None, "adv-1"),
)  # fmt: skip


def text(value: Any) -> str:
    """A cell as a CSV export (and a postback) writes it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    return str(value)


def postbacks() -> list[dict[str, str]]:
    """The rows as the parameters of live postbacks (empty values left out, as not sent)."""
    return [
        {field: text(value) for field, value in zip(FIELDS, row, strict=True) if value is not None}
        for row in ROWS
    ]


def headers(language: str) -> list[str]:
    return [english if language == "en" else chinese for _, english, chinese in COLUMNS]


def write_csv(path: Path, language: str = "en", *, delimiter: str = ",", bom: bool = False) -> Path:
    lines = [delimiter.join(headers(language))]
    for row in ROWS:
        cells = [text(value) for value in row]
        lines.append(delimiter.join(f'"{c}"' if delimiter in c else c for c in cells))
    content = "\r\n".join(lines) + "\r\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + content.encode())
    return path


def write_xlsx(path: Path, language: str = "en") -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers(language))
    for row in ROWS:
        sheet.append(list(row))
    book.save(path)
    return path
