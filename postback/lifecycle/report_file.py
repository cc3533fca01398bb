"""Reading an Involve Asia conversion report export (CSV or XLSX) into postback parameters.

Columns are found by their header, English as Involve Asia writes it ("Conversion ID",
"Offer Name", "Sale Amount", "Datetime Conversion", "Aff Sub 1"…), Chinese (转化ID, 订单号,
状态, 佣金…) or the postback parameter's own name (`conversion_id`); case, spaces,
underscores, hyphens and brackets do not count. Every value comes out as the text a postback
would have carried, so the import types it with the postback's own cleaning (ingest/fields.py).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

# Each postback field and the headers that name it in an export.
HEADERS: dict[str, tuple[str, ...]] = {
    "conversion_id": ("Conversion ID", "Transaction ID", "转化ID", "转化编号"),
    "offer_id": ("Offer ID", "活动ID", "Offer编号"),
    "offer_name": ("Offer Name", "Offer", "活动名称", "Offer名称"),
    "order_id": ("Order ID", "Order Number", "订单号", "订单ID", "订单编号"),
    "datetime_conversion": (
        "Datetime Conversion",
        "Conversion Date",
        "Conversion Datetime",
        "Conversion Time",
        "Date Time",
        "转化时间",
        "转化日期",
    ),
    "datetime_conversion_updated": (
        "Datetime Conversion Updated",
        "Conversion Updated",
        "Last Updated",
        "Updated Date",
        "更新时间",
    ),
    "sale_amount_local": ("Sale Amount", "Sale Amount Local", "Sales Amount", "销售额", "销售金额"),
    "myr_sale_amount": ("MYR Sale Amount", "Sale Amount (MYR)", "销售额(MYR)", "销售额（马币）"),
    "usd_sale_amount": ("USD Sale Amount", "Sale Amount (USD)", "销售额(USD)", "销售额（美元）"),
    "payout_local": ("Payout", "Payout Local", "Commission", "佣金", "佣金金额"),
    "myr_payout": ("MYR Payout", "Payout (MYR)", "佣金(MYR)", "佣金（马币）"),
    "usd_payout": ("USD Payout", "Payout (USD)", "佣金(USD)", "佣金（美元）"),
    "conversion_currency": ("Currency", "Conversion Currency", "币种", "货币"),
    "status": ("Status", "Conversion Status", "状态", "转化状态"),
    "adv_sub": ("Adv Sub", "Adv Sub 1", "广告主子ID", "广告主子ID1"),
    "adv_sub2": ("Adv Sub 2", "广告主子ID2"),
    "adv_sub3": ("Adv Sub 3", "广告主子ID3"),
    "adv_sub4": ("Adv Sub 4", "广告主子ID4"),
    "adv_sub5": ("Adv Sub 5", "广告主子ID5"),
    "aff_sub": ("Aff Sub", "Aff Sub 1", "子ID", "子ID1", "推广子ID", "推广子ID1"),
    "aff_sub2": ("Aff Sub 2", "子ID2", "推广子ID2"),
    "aff_sub3": ("Aff Sub 3", "子ID3", "推广子ID3"),
    "aff_sub4": ("Aff Sub 4", "子ID4", "推广子ID4"),
}
_IGNORED = re.compile(r"[\s_\-.()（）\[\]]+")


def header_key(header: str) -> str:
    """A header as compared: lower case, without spaces, underscores, hyphens or brackets."""
    return _IGNORED.sub("", header.replace("\ufeff", "")).casefold()


FIELD_OF: dict[str, str] = {
    header_key(name): field for field, names in HEADERS.items() for name in (field, *names)
}


class ReportError(ValueError):
    """The file is not a conversion report this import can read; the message says why."""

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One data row: its line in the file (the header is line 1 of its sheet) and its values
    by postback field, as text (empty cells left out)."""

    line: int
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    columns: dict[str, str]  # header as written -> postback field
    rows: list[ReportRow]


def read_report(path: Path) -> Report:
    """The rows of a CSV or XLSX export; ReportError for a file that is not one."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        lines = _xlsx_lines(path)
    elif suffix in (".csv", ".txt", ""):
        lines = _csv_lines(path.read_bytes())
    else:
        raise ReportError(f"{path.name}: not a CSV or XLSX file (got {suffix!r})")
    return _report(path.name, lines)


def _report(name: str, lines: Iterator[tuple[int, list[str]]]) -> Report:
    header: list[str] | None = None
    fields: list[str | None] = []
    rows: list[ReportRow] = []
    for number, cells in lines:
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = cells
            fields = _fields(name, header)
            continue
        params = {
            field: cell
            for field, cell in zip(fields, cells, strict=False)
            if field is not None and cell.strip()
        }
        rows.append(ReportRow(number, params))
    if header is None:
        raise ReportError(f"{name}: the file is empty (no header row)")
    columns = {h: f for h, f in zip(header, fields, strict=False) if f is not None}
    return Report(name, columns, rows)


def _fields(name: str, header: list[str]) -> list[str | None]:
    fields: list[str | None] = []
    seen: dict[str, str] = {}
    for title in header:
        if not title.strip():
            fields.append(None)  # an unnamed (empty) column
            continue
        field = FIELD_OF.get(header_key(title))
        if field is None:
            raise ReportError(
                f"{name}: unknown column {title.strip()!r}: not a field of an Involve Asia"
                " conversion report",
                title.strip(),
            )
        if field in seen:
            raise ReportError(
                f"{name}: columns {seen[field]!r} and {title.strip()!r} are both {field}",
                title.strip(),
            )
        seen[field] = title.strip()
        fields.append(field)
    if "conversion_id" not in seen:
        raise ReportError(
            f"{name}: no conversion id column (such as 'Conversion ID' or '转化ID'): not an"
            " Involve Asia conversion report",
            "conversion_id",
        )
    return fields


def _csv_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    if b"\x00" in data[:4096]:
        raise ReportError("the file is binary, not a CSV export")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel in Chinese saves "CSV" in the system's code page.
        try:
            content = data.decode("gb18030")
        except UnicodeDecodeError:
            raise ReportError("the CSV file is neither UTF-8 nor GB18030 text") from None
    first = content.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ReportError(f"line {reader.line_num}: {exc}") from None


def _xlsx_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    import zipfile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ReportError(f"{path.name}: not a readable XLSX workbook ({exc})") from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [cell_text(value) for value in values]
    finally:
        book.close()


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a postback would carry (numbers without float noise,
    times as `YYYY-MM-DD HH:MM:SS`, read in the partner's timezone like a postback's)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)
