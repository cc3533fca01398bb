"""The rows as they leave PostgreSQL (COPY … CSV) and arrive as Arrow: every value equal to
what the database holds, whatever the text holds (quotes, commas, line breaks, empty text
apart from NULL, Chinese), times before 1970 and to the microsecond, amounts at full
precision; and batches of exactly the asked size whatever the chunks COPY hands over."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from postback.sync import repository
from postback.sync.rows import ROW_SCHEMA, CsvBatches, csv_select, parse_csv, record_end
from postback.sync.schemas import RowFilter
from tests.sync.helpers import ZONE

AWKWARD = [
    'say "hi", then leave',
    "two\nlines",
    "crlf\r\nline",
    "",
    None,
    ",",
    '"',
    "back\\slash",
    "蝦皮 商城",
    "\t tab",
]
TIMES = [
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 11, 3, 4, 5, 6, 7, tzinfo=UTC),
    datetime(2026, 11, 3, 4, 5, 6, tzinfo=UTC),
]
AMOUNTS = [Decimal("99999999999999.999999"), Decimal("0.000001"), Decimal("-12.5"), None]


@pytest.fixture
async def awkward_rows(db) -> int:
    """One row per awkward text (in offer_name, and reversed in aff_sub), with awkward times
    and amounts."""
    tenant_id = await db.fetchval("SELECT id FROM tenant WHERE is_default")
    for n, text in enumerate(AWKWARD):
        await db.execute(
            """
            INSERT INTO conversion (receipt_id, tenant_id, conversion_id, offer_name, aff_sub,
                                    status, raw, received_at, datetime_conversion,
                                    deduplicated, usd_sale_amount)
            VALUES (gen_random_uuid(), $1, $2, $3, $4, 'pending', '{}', $5, $6, true, $7)
            """,
            tenant_id,
            f"AW-{n}",
            text,
            AWKWARD[-1 - n],
            TIMES[n % len(TIMES)],
            TIMES[(n + 1) % len(TIMES)],
            AMOUNTS[n % len(AMOUNTS)],
        )
    return len(AWKWARD)


async def copied_csv(db) -> bytes:
    query, args = repository.select_rows(RowFilter(), ZONE)
    out = io.BytesIO()
    await db.copy_from_query(csv_select(query), *args, output=out, format="csv")
    return out.getvalue()


async def test_every_value_arrives_as_the_database_holds_it(db, awkward_rows):
    table = parse_csv(await copied_csv(db))
    assert table.schema == ROW_SCHEMA
    got = {r["conversion_id"]: r for r in table.to_pylist()}
    source = await db.fetch(
        "SELECT conversion_id, offer_name, aff_sub, received_at, datetime_conversion,"
        " usd_sale_amount, is_duplicate FROM conversion"
    )
    assert len(source) == awkward_rows == len(got)
    for row in source:
        copy = got[row["conversion_id"]]
        assert copy["offer_name"] == row["offer_name"]
        assert copy["aff_sub"] == row["aff_sub"]
        assert copy["received_at"] == row["received_at"]
        assert copy["datetime_conversion"] == row["datetime_conversion"]
        assert copy["usd_sale_amount"] == row["usd_sale_amount"]
        assert copy["is_duplicate"] is row["is_duplicate"]


async def test_batches_of_the_asked_size_whatever_the_chunks(db, awkward_rows):
    data = await copied_csv(db)
    whole = parse_csv(data)
    for chunk in (1, 7, 64):
        batches: list[pa.RecordBatch] = []

        async def take(batch: pa.RecordBatch, into: list[pa.RecordBatch] = batches) -> None:
            into.append(batch)

        gather = CsvBatches(3, take, parse_bytes=40)
        for start in range(0, len(data), chunk):
            await gather.feed(data[start : start + chunk])
        await gather.finish()
        sizes = [b.num_rows for b in batches]
        assert sizes == [3] * (awkward_rows // 3) + ([awkward_rows % 3] if awkward_rows % 3 else [])
        assert pa.Table.from_batches(batches).equals(whole)


def test_a_record_ends_only_at_a_line_break_outside_quotes():
    assert record_end(b'1,"a\nb"\n2,"c') == len(b'1,"a\nb"\n')
    assert record_end(b'1,"a""\n') == 0  # the quote is doubled: still inside the value
    assert record_end(b'1,"a"""\n') == len(b'1,"a"""\n')
    assert record_end(b"1,x") == 0
