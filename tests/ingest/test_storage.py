"""`create_app(storage=…)`: a RowSink takes the batcher's place (the seam the benchmark uses)."""

from __future__ import annotations

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from postback.app import create_app
from postback.ingest.schemas import ConversionRow, RejectionRow, StoredConversion
from tests.fixtures import make_settings


class Recorder:
    """A RowSink that answers every row as stored and keeps it in memory only."""

    def __init__(self) -> None:
        self.rows: list[ConversionRow] = []
        self.rejections: list[RejectionRow] = []

    async def submit(self, row: ConversionRow) -> StoredConversion:
        self.rows.append(row)
        return StoredConversion(len(self.rows), duplicate=False)

    async def submit_rejection(self, row: RejectionRow) -> None:
        self.rejections.append(row)


async def test_a_given_storage_takes_the_rows_instead_of_the_database(
    db: asyncpg.Connection, database_url: str, tmp_path
):
    storage = Recorder()
    app = create_app(make_settings(database_url, tmp_path), storage=storage)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            stored = await http.get(
                "/postback/", params={"conversion_id": "SEAM-1", "sale_amount_local": "1,250.00"}
            )
            refused = await http.get(
                "/postback/", params={"conversion_id": "SEAM-2", "usd_payout": "x"}
            )
    assert stored.status_code == 200
    assert stored.json()["id"] == 1
    assert refused.status_code == 422
    (row,) = storage.rows
    assert (row.conversion_id, row.sale_amount_local, row.source_ip) == (
        "SEAM-1",
        "1250.00",
        "203.0.113.7",
    )
    (rejection,) = storage.rejections
    assert (rejection.reason, rejection.conversion_id) == ("invalid", "SEAM-2")
    assert await db.fetchval("SELECT count(*) FROM conversion") == 0
    assert await db.fetchval("SELECT count(*) FROM rejection") == 0
