"""`postback cleanup`, run for real in its own process against the test database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from postback.jobs import CLEANUP_LOCK
from tests.factories import create_tenant
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


def table_row(stdout: str, slug: str) -> list[str]:
    """The cells of the report line for `slug` (the retention's "N days" as one cell)."""
    [line] = [line for line in stdout.splitlines() if line.split()[:1] == [slug]]
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture
async def kept(app, db) -> set[int]:
    """Rows for the default partner (7 days) and acme (30 days); the ids cleanup must keep."""
    now = datetime.now(UTC)
    default = await default_tenant_id(db)
    acme = (await create_tenant(app, "acme", retention_days=30)).tenant.id
    keep = set()
    for tenant, retention in ((default, 7), (acme, 30)):
        for age in (1, 10, 20, 40):
            row = await add_conversion(db, tenant, now - age * DAY)
            if age < retention:
                keep.add(row)
    await add_rejection(db, None, now - 10 * DAY)
    return keep


class TestCleanupCommand:
    async def test_dry_run_prints_the_report_and_deletes_nothing(self, cleanup, db, kept):
        before = (await conversion_ids(db), await rejection_ids(db))

        code, stdout, stderr = await cleanup("--dry-run")

        assert code == 0, stderr
        assert "dry run" in stdout
        assert "Traceback" not in stderr
        header = table_row(stdout, "tenant")
        assert header == ["tenant", "retention", "cutoff", "conversions", "rejections"]
        slug, retention, cutoff, conversions, rejections = table_row(stdout, "default")
        assert (slug, retention, conversions, rejections) == ("default", "7 days", "3", "1")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", cutoff)
        assert table_row(stdout, "acme")[1] == "30 days"
        assert table_row(stdout, "acme")[3:] == ["1", "0"]
        assert table_row(stdout, "total") == ["total", "4", "1"]
        assert (await conversion_ids(db), await rejection_ids(db)) == before

    async def test_a_real_run_deletes_and_prints_what_it_removed(self, cleanup, db, kept):
        code, stdout, stderr = await cleanup("--batch-size", "2")

        assert code == 0, stderr
        assert "dry run" not in stdout
        assert "removed" in stdout
        assert table_row(stdout, "total") == ["total", "4", "1"]
        assert await conversion_ids(db) == kept
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
