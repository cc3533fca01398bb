"""`postback ask "…"`: a question answered in the terminal (interpretation, table, SQL)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from postback import migrate
from postback.auth import ADMIN, partner_principal
from postback.nlq import repository, service
from postback.nlq.plan import CannotAnswer
from postback.settings import Settings

# Exit codes: 0 answered, 1 something else went wrong, 2 the question cannot be answered.
CANNOT_ANSWER_EXIT = 2
MAX_CELL = 60
DECIMAL = re.compile(r"-?\d+\.\d+")


@dataclass(frozen=True)
class Printed:
    code: int
    stdout: str
    stderr: str = ""


class UnknownPartner(LookupError):
    pass


async def ask(
    url: str, question: str, *, partner: str | None, as_json: bool, settings: Settings
) -> Printed:
    """Answer `question` as the admin, or as `partner` (a slug) when given."""
    await migrate.upgrade(url)
    async with repository.connect(url) as conn:
        tenant_id = None
        if partner is not None:
            tenant_id = await repository.tenant_id(conn, partner)
            if tenant_id is None:
                return Printed(
                    1, "", f"error: no partner {partner!r} (see postback tenants list)\n"
                )
        try:
            answer = await service.answer(
                conn,
                ADMIN if tenant_id is None else partner_principal(tenant_id),
                question,
                settings=settings,
                remember=False,  # one question: nothing to follow up
            )
        except CannotAnswer as exc:
            return _cannot_answer(exc, as_json)
    data = answer.model_dump(mode="json")
    if as_json:
        return Printed(0, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return Printed(0, render_answer(data))


def _cannot_answer(exc: CannotAnswer, as_json: bool) -> Printed:
    if as_json:
        body = {
            "status": "error",
            "errors": [{"field": "question", "message": exc.message}],
            "suggestions": exc.suggestions,
        }
        return Printed(CANNOT_ANSWER_EXIT, json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    heading = "可以试试：" if exc.language == "zh" else "Try one of these:"
    lines = [exc.message]
    if exc.suggestions:
        lines += ["", heading, *(f"  - {s}" for s in exc.suggestions)]
    return Printed(CANNOT_ANSWER_EXIT, "", "\n".join(lines) + "\n")


def render_answer(data: dict[str, object]) -> str:
    zh = data.get("language") == "zh"
    columns = [str(c) for c in _list(data.get("columns"))]
    rows = [list(_list(row)) for row in _list(data.get("rows"))]
    rows_label = f"{len(rows)} 行" if zh else f"{len(rows)} row" + ("" if len(rows) == 1 else "s")
    parts = [
        str(data.get("interpretation", "")),
        "",
        table(columns, rows),
        f"({rows_label}, {float(str(data.get('elapsed_ms', 0))):.0f} ms)",
        "",
        "SQL:",
        str(data.get("sql", "")),
    ]
    return "\n".join(parts) + "\n"


def _list(value: object) -> Sequence[object]:
    return value if isinstance(value, list) else []


def width(text: str) -> int:
    """Columns the text takes in a terminal: wide (CJK) characters take two."""
    return sum(
        0
        if unicodedata.combining(ch)
        else 2
        if unicodedata.east_asian_width(ch) in ("W", "F")
        else 1
        for ch in text
    )


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    text = str(value).replace("\n", " ")
    return text if width(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _numeric(value: object) -> bool:
    """Numbers and money (decimal strings with a point) line up on the right; ids made of
    digits, such as offer ids, stay text."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and DECIMAL.fullmatch(value) is not None


def table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain box table; numbers right-aligned."""
    texts = [[cell(v) for v in row] for row in rows]
    numeric = [
        bool(rows) and all(row[i] is None or _numeric(row[i]) for row in rows)
        for i in range(len(columns))
    ]
    widths = [max([width(c), *(width(row[i]) for row in texts)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        padded = []
        for i, value in enumerate(values):
            gap = " " * (widths[i] - width(value))
            padded.append(gap + value if numeric[i] else value + gap)
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    out = [line(list(columns)), rule, *(line(row) for row in texts)]
    return "\n".join(out)
