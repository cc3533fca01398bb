"""The BigQuery destination: against a recorded fake of the client (tests/sync/fake_bigquery.py,
the one stand-in: BigQuery cannot be reached from here) for what a dataset ends up holding,
and with the real client library against a local HTTP server for a refusal and an outage."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest
from google.api_core.client_options import ClientOptions
from google.api_core.exceptions import ServiceUnavailable
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from postback.sync import jobs
from postback.sync.bigquery import BigQuerySink
from postback.sync.schemas import Destination, DestinationError
from tests.factories import postback
from tests.sync.fake_bigquery import FakeClient
from tests.sync.helpers import (
    ZONE,
    DayFigures,
    receive_postbacks,
    send,
    source_figures,
    source_ids,
    source_statuses,
)

DEST = Destination.parse("bigquery://postback-test/warehouse")
TABLE = "postback-test.warehouse.conversions"


async def run(app, client: object, deadline: float = 60.0):
    sink = BigQuerySink("postback-test", "warehouse", DEST.name, client=client, deadline=deadline)
    return await jobs.run_sync(app.state.db.engine, DEST, zone=ZONE, sink=sink)


def figures(fake: FakeClient) -> set[DayFigures]:
    rows = fake.tables[TABLE]  # noqa: F841 (read by DuckDB by name)
    found = duckdb.sql(
        "SELECT partner, day::text, count(*), count(*) FILTER (WHERE is_duplicate),"
        " sum(usd_sale_amount), sum(myr_payout) FROM rows GROUP BY 1, 2"
    ).fetchall()
    return {DayFigures(*row) for row in found}


def statuses(fake: FakeClient) -> dict[tuple[str, str], str]:
    table = fake.tables[TABLE].to_pylist()
    return {(r["partner"], r["conversion_id"]): r["status"] for r in table}


async def watermark(db) -> object:
    return await db.fetchval(
        "SELECT snapshot FROM sync_watermark WHERE destination = $1", DEST.name
    )


class TestWithTheFakeClient:
    async def test_the_table_equals_the_database_and_is_partitioned_and_clustered(
        self, app, client, db
    ):
        await receive_postbacks(app, client)
        fake = FakeClient()

        report = await run(app, fake)

        assert report is not None
        assert report.rows == 50
        table = fake.definitions[TABLE]
        assert table.time_partitioning.field == "day"
        assert table.time_partitioning.type_ == "DAY"
        assert table.clustering_fields == ["partner", "offer_id"]
        types = {f.name: f.field_type for f in table.schema}
        assert types["usd_sale_amount"] == "NUMERIC"
        assert types["received_at"] == "TIMESTAMP"
        assert types["day"] == "DATE"
        assert set(fake.views) == {
            "postback-test.warehouse.daily_partner_offer",
            "postback-test.warehouse.status_breakdown",
        }
        assert figures(fake) == await source_figures(db)
        assert sorted(fake.tables[TABLE].column("id").to_pylist()) == await source_ids(db)
        # The staging table is gone; it would have expired by itself.
        assert list(fake.tables) == [TABLE]

    async def test_a_status_change_is_merged_not_appended(self, app, client, db):
        await receive_postbacks(app, client)
        fake = FakeClient()
        await run(app, fake)

        await send(client, **postback("D-4", status="Rejected"))
        again = await run(app, fake)

        assert again is not None
        assert again.rows == 2  # the first row, replaced, and the repeat, new
        assert statuses(fake) == await source_statuses(db)
        assert sorted(fake.tables[TABLE].column("id").to_pylist()) == await source_ids(db)

    async def test_nothing_changed_loads_nothing(self, app, client, db):
        await receive_postbacks(app, client)
        fake = FakeClient()
        await run(app, fake)
        fake.calls.clear()

        await run(app, fake)

        assert "load_table_from_file" not in fake.calls

    async def test_a_failed_load_leaves_the_watermark(self, app, client, db):
        await receive_postbacks(app, client)
        fake = FakeClient(failures={"load_table_from_file": ServiceUnavailable("backend error")})

        with pytest.raises(DestinationError, match="cannot be reached: 503 backend error"):
            await run(app, fake)

        assert await watermark(db) is None
        assert "delete_table" in fake.calls  # the staging table is not left behind


class Refusing(BaseHTTPRequestHandler):
    """BigQuery's answer to a service account without access to the dataset."""

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": 403,
                    "message": "Access Denied: Dataset postback-test:warehouse: Permission "
                    "bigquery.datasets.get denied",
                    "status": "PERMISSION_DENIED",
                }
            }
        ).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def real_client(endpoint: str) -> bigquery.Client:
    return bigquery.Client(
        project="postback-test",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=endpoint),
    )


class TestWithTheRealClientLibrary:
    async def test_refused_credentials_are_named(self, app, db, refusing_server):
        with pytest.raises(DestinationError) as refused:
            await run(app, real_client(refusing_server))

        message = str(refused.value)
        assert message.startswith("bigquery://postback-test/warehouse: refused the credentials")
        assert "Access Denied: Dataset postback-test:warehouse" in message
        assert await watermark(db) is None

    async def test_a_service_that_does_not_answer(self, app, db):
        import socket

        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        with pytest.raises(DestinationError) as down:
            await run(app, real_client(f"http://127.0.0.1:{port}"), deadline=1.0)

        assert str(down.value).startswith("bigquery://postback-test/warehouse: cannot be reached")
        assert await watermark(db) is None
