"""The history benchmark's export is one an import reads, and its report renders."""

from __future__ import annotations

from datetime import UTC, datetime

from postback.lifecycle.report_file import read_report
from postback_bench.history import HistoryResult, markdown, write_export


def test_the_export_is_a_conversion_report(tmp_path):
    path = tmp_path / "export.csv"
    write_export(path, 25)

    report = read_report(path)

    assert len(report.rows) == 25
    assert set(report.columns.values()) >= {"conversion_id", "status", "datetime_conversion"}
    # Lines 11 and 21 (the 10th and 20th data rows) approve the conversions just before them.
    approvals = [r.params["conversion_id"] for r in report.rows if r.params["status"] == "Approved"]
    assert approvals == ["IA-9", "IA-19"]
    assert report.rows[0].params["sale_amount_local"] == "1,000.50"


def test_the_report_has_a_line_per_step():
    result = HistoryResult(1000, 0.5, 2.0, 1.0, 1000, 99, 0.1, 0.4, 901, 99, datetime.now(UTC))

    text = markdown(result, "postback-bench history --rows 1000")

    assert "| import | 2.00 | 500 |" in text
    assert "901 payloads cleared, 99 duplicates deleted" in text
