"""Import of Involve Asia history against a real PostgreSQL: an export stored exactly as the
same rows postbacked through the real HTTP receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from postback.lifecycle import importer
from postback.lifecycle.report_file import ReportError, read_report
from tests.factories import create_tenant
from tests.lifecycle.exports import ROWS, postbacks, write_csv, write_xlsx

ZONE = ZoneInfo("Asia/Kuala_Lumpur")
# Every stored field a postback determines (not its row id, receipt, partner, arrival or raw).
STORED = (
    "conversion_id, offer_id, offer_name, datetime_conversion, datetime_conversion_updated,"
    " order_id, sale_amount_local, myr_sale_amount, usd_sale_amount, payout_local, myr_payout,"
    " usd_payout, conversion_currency, status, status_raw, adv_sub, adv_sub2, adv_sub3,"
    " adv_sub4, adv_sub5, aff_sub, aff_sub2, aff_sub3, aff_sub4, deduplicated, is_duplicate,"
    " status_updated_at IS NOT NULL AS moved, occurred_at"
)


@pytest.fixture
async def conn(app, database_url) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def stored(db: asyncpg.Connection, slug: str) -> list[dict[str, object]]:
    rows = await db.fetch(
        f"SELECT {STORED} FROM conversion WHERE tenant_id = (SELECT id FROM tenant"
        " WHERE slug = $1) ORDER BY id",
        slug,
    )
    return [dict(row) for row in rows]


@pytest.fixture
async def live(app, live_server) -> list[dict[str, object]]:
    """The rows postbacked over HTTP to partner `live`; what it stored."""
    await create_tenant(app, "live", ts_token="live-token")
    async with httpx.AsyncClient(base_url=live_server) as http:
        for params in postbacks():
            answer = await http.get("/postback/", params={**params, "ts_token": "live-token"})
            assert answer.status_code == 200, answer.text
    return []


async def import_file(
    conn: asyncpg.Connection, path: Path, slug: str, **options: bool
) -> importer.ImportSummary:
    tenant = await importer.find_partner(conn, slug, ZONE)
    return await importer.import_report(conn, read_report(path), tenant, **options)


EXPORTS = {
    "csv-en": lambda p: write_csv(p / "export.csv"),
    "csv-zh-semicolon-bom": lambda p: write_csv(p / "导出.csv", "zh", delimiter=";", bom=True),
    "xlsx-en": lambda p: write_xlsx(p / "export.xlsx"),
    "xlsx-zh": lambda p: write_xlsx(p / "导出.xlsx", "zh"),
}


class TestSameAsPostbacks:
    @pytest.mark.parametrize("export", list(EXPORTS))
    async def test_stores_what_the_receiver_stores(self, app, db, conn, live, tmp_path, export):
        await create_tenant(app, "history")
        path = EXPORTS[export](tmp_path)

        summary = await import_file(conn, path, "history")

        expected = await stored(db, "live")
        assert len(expected) == len(ROWS)
        assert await stored(db, "history") == expected
        assert (summary.rows, summary.stored, summary.first_rows, summary.duplicates) == (
            4,
            4,
            3,
            1,
        )
        assert (summary.already_imported, summary.status_changes) == (0, 1)

    async def test_one_row_a_transaction_stores_the_same(
        self, app, db, conn, live, tmp_path, monkeypatch
    ):
        """Chunks are separate transactions: a later chunk's status update still finds the
        first row an earlier one committed, and a dry run counts what the import stores."""
        monkeypatch.setattr(importer, "CHUNK", 1)
        await create_tenant(app, "history")
        path = write_csv(tmp_path / "export.csv")

        dry = await import_file(conn, path, "history", dry_run=True)
        summary = await import_file(conn, path, "history")

        assert await stored(db, "history") == await stored(db, "live")
        assert (dry.stored, dry.duplicates, dry.status_changes) == (4, 1, 1)
        assert (summary.stored, summary.duplicates, summary.status_changes) == (4, 1, 1)

    async def test_the_payload_names_the_file_and_line(self, app, db, conn, tmp_path):
        await create_tenant(app, "history")
        await import_file(conn, write_csv(tmp_path / "export.csv"), "history")

        raw = await db.fetchval(
            "SELECT raw FROM conversion WHERE conversion_id = 'IA-9003' AND NOT is_duplicate"
        )
        assert '"import": {"file": "export.csv", "line": 4}' in raw
        assert '"status": "Rejected"' in raw


class TestIdempotent:
    async def test_importing_again_stores_nothing(self, app, db, conn, tmp_path):
        await create_tenant(app, "history")
        path = write_csv(tmp_path / "export.csv")
        await import_file(conn, path, "history")
        before = await stored(db, "history")

        again = await import_file(conn, path, "history")

        assert (again.stored, again.already_imported, again.status_changes) == (0, 4, 0)
        assert await stored(db, "history") == before

    async def test_the_same_rows_saved_as_xlsx_are_the_same_rows(self, app, db, conn, tmp_path):
        await create_tenant(app, "history")
        await import_file(conn, write_csv(tmp_path / "export.csv"), "history")

        again = await import_file(conn, write_xlsx(tmp_path / "export.xlsx", "zh"), "history")

        assert (again.stored, again.already_imported) == (0, 4)
        assert await db.fetchval("SELECT count(*) FROM conversion") == 4

    async def test_a_dry_run_counts_and_stores_nothing(self, app, db, conn, tmp_path):
        await create_tenant(app, "history")
        path = write_xlsx(tmp_path / "export.xlsx")

        dry = await import_file(conn, path, "history", dry_run=True)

        assert await db.fetchval("SELECT count(*) FROM conversion") == 0
        real = await import_file(conn, path, "history")
        assert (dry.stored, dry.duplicates, dry.status_changes) == (
            real.stored,
            real.duplicates,
            real.status_changes,
        )
        assert dry.dry_run
        assert not real.dry_run


class TestAllOrNothing:
    async def test_one_bad_row_stores_nothing_and_names_its_line(self, app, db, conn, tmp_path):
        await create_tenant(app, "history")
        path = tmp_path / "export.csv"
        path.write_text(
            "Conversion ID,USD Payout,Currency,Status\n"
            "IA-1,1.20,MYR,approved\n"
            "IA-2,abc,MYR,approved\n"
            ",0.50,MYR,pending\n"
            "IA-4,0.75,XYZ,pending\n"
        )

        with pytest.raises(importer.ImportRefused) as refused:
            await import_file(conn, path, "history")

        assert [str(p) for p in refused.value.problems] == [
            "line 3: usd_payout must be a number such as 1234.50, got 'abc'",
            "line 4: conversion_id is required",
            "line 5: conversion_currency is not an ISO 4217 currency code: 'XYZ'",
        ]
        assert await db.fetchval("SELECT count(*) FROM conversion") == 0

    async def test_an_unknown_column_is_named(self, tmp_path):
        path = tmp_path / "export.csv"
        path.write_text("Conversion ID,Payout,Favourite Colour\nIA-1,1.00,blue\n")

        with pytest.raises(ReportError, match="unknown column 'Favourite Colour'") as error:
            read_report(path)
        assert error.value.column == "Favourite Colour"

    async def test_a_file_without_a_conversion_id_is_not_a_conversion_report(self, tmp_path):
        path = tmp_path / "clicks.csv"
        path.write_text("Offer Name,Aff Sub\nShopee MY,click-1\n")

        with pytest.raises(ReportError, match="no conversion id column"):
            read_report(path)

    async def test_a_file_that_is_not_a_workbook(self, tmp_path):
        path = tmp_path / "export.xlsx"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))

        with pytest.raises(ReportError, match="not a readable XLSX workbook"):
            read_report(path)

    async def test_headers_ignore_case_spaces_and_underscores(self, tmp_path):
        path = tmp_path / "export.csv"
        path.write_text("conversion_id,OFFER  NAME,aff_sub_1,Sale_Amount\nIA-1,Shopee,c,1\n")

        report = read_report(path)

        assert list(report.columns.values()) == [
            "conversion_id",
            "offer_name",
            "aff_sub",
            "sale_amount_local",
        ]

    async def test_an_unknown_partner(self, conn):
        with pytest.raises(importer.UnknownPartner, match="no partner with slug 'nobody'"):
            await importer.find_partner(conn, "nobody", ZONE)


class TestForwards:
    async def add_forward(self, db: asyncpg.Connection, tenant_id: int, base: str) -> None:
        """A forward to the tests' real receiver (the delivery worker may call it)."""
        await db.execute(
            "INSERT INTO forward (tenant_id, url, events) VALUES ($1, $2,"
            " '{created,status_changed}')",
            tenant_id,
            f"{base}/pb?c={{conversion_id}}",
        )

    async def test_imported_rows_fire_no_forwards_by_default(
        self, app, db, conn, tmp_path, receiver
    ):
        tenant = (await create_tenant(app, "history")).tenant.id
        await self.add_forward(db, tenant, receiver.base)

        summary = await import_file(conn, write_csv(tmp_path / "export.csv"), "history")

        assert summary.forwarded is False
        assert await db.fetchval("SELECT count(*) FROM delivery") == 0

    async def test_with_forward_they_queue_as_postbacks_do(self, app, db, conn, tmp_path, receiver):
        tenant = (await create_tenant(app, "history")).tenant.id
        await self.add_forward(db, tenant, receiver.base)

        await import_file(conn, write_csv(tmp_path / "export.csv"), "history", forward=True)

        events = await db.fetch("SELECT event FROM delivery ORDER BY id")
        # Three new conversions, one status change (IA-9001 approved).
        assert sorted(r["event"] for r in events) == ["created"] * 3 + ["status_changed"]
