"""`postback cleanup`, run for real in its own process against the test database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from postback.jobs import CLEANUP_LOCK
from postback.rollups.service import compact
from tests.factories import create_tenant
from tests.lifecycle.exports import write_csv, write_xlsx
from tests.lifecycle.rows import (
    add_conversion,
    add_rejection,
    conversion_ids,
    default_tenant_id,
    rejection_ids,
)

DAY = timedelta(days=1)


@pytest.fixture
def cleanup(cli):
    """Run `python -m postback cleanup …` against the test database."""

    async def run(*args: str) -> tuple[int, str, str]:
        result = await cli("cleanup", *args)
        return result.code, result.stdout, result.stderr

    return run


async def cleared(db) -> set[int]:
    return {r["id"] for r in await db.fetch("SELECT id FROM conversion WHERE raw IS NULL")}


def table_row(stdout: str, slug: str) -> list[str]:
    """The cells of the report line for `slug` (the retention's "N days" as one cell)."""
    [line] = [line for line in stdout.splitlines() if line.split()[:1] == [slug]]
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture
async def kept(app, db) -> set[int]:
    """Rows for the default partner (7 days) and acme (30 days); the ids cleanup must keep
    (every first row but the one that occurred past the 400 days of history)."""
    now = datetime.now(UTC)
    default = await default_tenant_id(db)
    acme = (await create_tenant(app, "acme", retention_days=30)).tenant.id
    keep = set()
    for tenant in (default, acme):
        for age in (1, 10, 20, 40):
            keep.add(await add_conversion(db, tenant, now - age * DAY))
        await add_conversion(db, tenant, now - 500 * DAY)
    await add_rejection(db, None, now - 10 * DAY)
    # Folded, so the rollups hold still while the app's own compaction runs beside the test.
    while await db.fetchval("SELECT count(*) FROM conversion_hourly_delta"):
        await compact(app.state.db.engine)
    return keep


COLUMNS = ["duplicates", "payloads", "rejections", "deliveries", "conversions", "rollup cells"]


class TestCleanupCommand:
    async def test_dry_run_prints_the_report_and_deletes_nothing(self, cleanup, db, kept):
        before = (await conversion_ids(db), await rejection_ids(db), await cleared(db))

        code, stdout, stderr = await cleanup("--dry-run")

        assert code == 0, stderr
        assert "dry run" in stdout
        assert "Traceback" not in stderr
        assert table_row(stdout, "tenant") == ["tenant", "retention", "history", *COLUMNS]
        # The 500-day conversion of each: its row, its hour cell and its day cell in each zone.
        cells = str(1 + await db.fetchval("SELECT count(*) FROM conversion_daily_zone"))
        default = ["default", "7 days", "400 days", "0", "3", "1", "0", "1", cells]
        assert table_row(stdout, "default") == default
        acme = ["acme", "30 days", "400 days", "0", "1", "0", "0", "1", cells]
        assert table_row(stdout, "acme") == acme
        total = ["total", "0", "4", "1", "0", "2", str(2 * int(cells))]
        assert table_row(stdout, "total") == total
        # Each kind is explained under the table.
        assert "raw payloads cleared on first rows" in stdout
        assert (await conversion_ids(db), await rejection_ids(db), await cleared(db)) == before

    async def test_a_real_run_deletes_and_prints_what_it_removed(self, cleanup, db, kept):
        code, stdout, stderr = await cleanup("--batch-size", "2")

        assert code == 0, stderr
        assert "dry run" not in stdout
        assert "removed" in stdout
        cells = 1 + await db.fetchval("SELECT count(*) FROM conversion_daily_zone")
        assert table_row(stdout, "total") == ["total", "0", "4", "1", "0", "2", str(2 * cells)]
        assert await conversion_ids(db) == kept
        assert len(await cleared(db)) == 4
        assert await rejection_ids(db) == set()

    async def test_skips_while_another_cleanup_holds_the_lock(self, cleanup, db, kept):
        before = await conversion_ids(db)
        await db.execute("SELECT pg_advisory_lock($1)", CLEANUP_LOCK)
        try:
            code, stdout, stderr = await cleanup()
        finally:
            await db.execute("SELECT pg_advisory_unlock($1)", CLEANUP_LOCK)

        assert code == 0, stderr
        assert "skipped" in stdout
        assert await conversion_ids(db) == before

    async def test_help_lists_the_command(self, cleanup):
        code, stdout, _ = await cleanup("--help")
        assert code == 0
        assert "--dry-run" in stdout


class TestImportCommand:
    async def test_imports_a_file_and_prints_the_summary(self, app, cli, db, tmp_path):
        await create_tenant(app, "history")
        path = write_xlsx(tmp_path / "export.xlsx", "zh")

        result = await cli("import", str(path), "--partner", "history")

        assert result.code == 0, result.stderr
        assert "4 rows read" in result.stdout
        assert "stored: 4 (3 new conversions, 1 duplicates)" in result.stdout
        assert "status changes: 1" in result.stdout
        assert "not sent (use --forward)" in result.stdout
        assert await db.fetchval("SELECT count(*) FROM conversion") == 4

        again = await cli("import", str(path), "--partner", "history")

        assert again.code == 0, again.stderr
        assert "stored: 0" in again.stdout
        assert "already imported: 4" in again.stdout
        assert await db.fetchval("SELECT count(*) FROM conversion") == 4

    async def test_a_dry_run_stores_nothing(self, app, cli, db, tmp_path):
        await create_tenant(app, "history")
        path = write_csv(tmp_path / "export.csv", delimiter=";", bom=True)

        result = await cli("import", str(path), "--partner", "history", "--dry-run")

        assert result.code == 0, result.stderr
        assert "would store (dry run: nothing stored): 4" in result.stdout
        assert await db.fetchval("SELECT count(*) FROM conversion") == 0

    async def test_a_bad_row_is_named_and_nothing_is_stored(self, app, cli, db, tmp_path):
        await create_tenant(app, "history")
        path = tmp_path / "export.csv"
        path.write_text(
            "Conversion ID,Status,转化时间\nIA-1,approved,2026-10-01 10:00\nIA-2,ok,soon\n"
        )

        result = await cli("import", str(path), "--partner", "history")

        assert result.code == 1
        assert "error: line 3: datetime_conversion" in result.stderr
        assert "nothing was imported" in result.stderr
        assert await db.fetchval("SELECT count(*) FROM conversion") == 0

    async def test_an_unknown_column_or_partner_is_an_error(self, app, cli, tmp_path):
        path = tmp_path / "export.csv"
        path.write_text("Conversion ID,Click Time\nIA-1,2026-10-01\n")
        result = await cli("import", str(path), "--partner", "history")
        assert result.code == 1
        assert "unknown column 'Click Time'" in result.stderr

        good = write_csv(tmp_path / "good.csv")
        result = await cli("import", str(good), "--partner", "nobody")
        assert result.code == 1
        assert "error: --partner: no partner with slug 'nobody'" in result.stderr
