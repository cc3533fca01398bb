"""A report as a channel's message, in the saved question's language: a subject, how the
question was read, the first rows as a text table with the answer's own headers and units,
when it was computed, and a link to the dashboard when POSTBACK_PUBLIC_URL is set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.cells import cell_len

from postback.alerting.channels import Message
from postback.nlq.schemas import NlqAnswer

# Rows a report shows at most; the rest are counted.
ROWS_SHOWN = 20
# A cell wider than this is cut (with …), so one long name does not stretch every line.
CELL_WIDTH = 40

CADENCES = {"daily": ("Daily report", "每日报告"), "weekly": ("Weekly report", "每周报告")}


@dataclass(frozen=True, slots=True)
class Report:
    """One run of a schedule: what was asked, its answer, and when and where it is read."""

    schedule_id: int
    saved_question_id: int
    title: str
    cadence: str
    language: str
    answer: NlqAnswer
    at: datetime
    zone: str
    link: str | None


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[1] if language == "zh" else pair[0]


def subject(report: Report) -> str:
    kind = _pick(CADENCES.get(report.cadence, CADENCES["daily"]), report.language)
    if report.language == "zh":
        return f"【Postback】{kind}：{report.title}"
    return f"[Postback] {kind}: {report.title}"


def _cell(value: Any) -> str:
    shown = "" if value is None else str(value)
    if cell_len(shown) <= CELL_WIDTH:
        return shown
    while cell_len(shown) > CELL_WIDTH - 1:
        shown = shown[:-1]
    return shown + "…"


def headers(answer: NlqAnswer) -> list[str]:
    """Each column's header in the question's language, with its unit when it has one that
    the header does not already name."""
    names = answer.headers if len(answer.headers) == len(answer.columns) else answer.columns
    units = answer.units if len(answer.units) == len(answer.columns) else [None] * len(names)
    return [
        f"{name} ({unit})" if unit and unit not in name else name
        for name, unit in zip(names, units, strict=True)
    ]


def table(answer: NlqAnswer, limit: int = ROWS_SHOWN) -> str:
    """The first `limit` rows under their headers, columns padded to their display width
    (a Chinese character takes two)."""
    lines = [headers(answer)] + [[_cell(v) for v in row] for row in answer.rows[:limit]]
    widths = [max(cell_len(line[i]) for line in lines) for i in range(len(lines[0]))]

    def padded(line: list[str]) -> str:
        cells = [c + " " * (w - cell_len(c)) for c, w in zip(line, widths, strict=True)]
        return " | ".join(cells).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([padded(lines[0]), rule, *(padded(line) for line in lines[1:])])


def text(report: Report) -> str:
    zh = report.language == "zh"
    answer = report.answer
    local = f"{report.at.astimezone(ZoneInfo(report.zone)):%Y-%m-%d %H:%M} ({report.zone})"
    lines = [subject(report), answer.interpretation, ""]
    if answer.rows:
        lines.append(table(answer))
        if len(answer.rows) > ROWS_SHOWN:
            shown, total = ROWS_SHOWN, len(answer.rows)
            lines.append(
                f"（仅显示前 {shown} 行，共 {total} 行）"
                if zh
                else f"(the first {shown} of {total} rows)"
            )
    else:
        lines.append("（没有数据）" if zh else "(no rows)")
    lines.append("")
    lines.append(f"计算时间：{local}" if zh else f"Computed: {local}")
    if report.link:
        lines.append(f"查看：{report.link}" if zh else f"See: {report.link}")
    return "\n".join(lines)


def message(report: Report) -> Message:
    """The report as any channel is sent it; a generic webhook also gets its data."""
    answer = report.answer
    fields = {
        "event": "report",
        "report_id": report.schedule_id,
        "saved_question_id": report.saved_question_id,
        "title": report.title,
        "question": answer.question,
        "language": report.language,
        "interpretation": answer.interpretation,
        "columns": answer.columns,
        "headers": answer.headers,
        "units": answer.units,
        "rows": answer.rows[:ROWS_SHOWN],
        "row_count": len(answer.rows),
        "computed_at": report.at.isoformat(),
    }
    return Message(subject(report), text(report), fields)
