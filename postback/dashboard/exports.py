"""Tables as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read Chinese right)
and as Excel workbooks (xlsxwriter, pure Python)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import xlsxwriter

# Excel keeps numbers as doubles: up to 15 significant digits are exact, longer ones are
# written as text so nothing is silently rounded.
EXACT_DIGITS = 15


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    numeric: Sequence[bool]  # per column: figures (numbers in Excel) or text


def as_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode()


def _number(cell: Any) -> Decimal | None:
    if isinstance(cell, bool) or not isinstance(cell, int | str | Decimal):
        return None
    try:
        value = Decimal(str(cell))
    except InvalidOperation:
        return None
    if not value.is_finite() or len(value.as_tuple().digits) > EXACT_DIGITS:
        return None
    return value


def as_xlsx(table: Table) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet(table.title[:31])
    bold = workbook.add_format({"bold": True})
    for column, header in enumerate(table.headers):
        sheet.write_string(0, column, str(header), bold)
        sheet.set_column(column, column, max(12, len(str(header)) + 2))
    for line, row in enumerate(table.rows, start=1):
        for column, cell in enumerate(row):
            if cell is None:
                continue
            number = _number(cell) if table.numeric[column] else None
            if number is not None:
                sheet.write_number(line, column, float(number))
            else:
                sheet.write_string(line, column, str(cell))
    workbook.close()
    return buffer.getvalue()
