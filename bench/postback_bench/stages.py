"""The service with its storage taken out, for `postback-bench run --stages`.

The same app, server and load as the service phase, up to the point where a typed row is
handed to the group commit: HTTP, parsing, validation, partner lookup, row building and the
answer all run as in production. Here the row is acknowledged at once and never written, so
the difference from the full service is what storing costs the server: the group commit,
the batch document, the driver, and sharing the machine with PostgreSQL.

It is a measuring instrument, never a way to run the service: nothing it answers is kept.

    uvicorn --factory postback_bench.stages:without_storage
"""

from __future__ import annotations

from postback.app import PostbackApp, create_app
from postback.ingest.schemas import ConversionRow, RejectionRow, StoredConversion
from postback.settings import Settings

_ACKNOWLEDGED = StoredConversion(0, duplicate=False)


class Acknowledger:
    """The app's storage (a RowSink): every row is answered as stored, and none is."""

    async def submit(self, row: ConversionRow) -> StoredConversion:
        return _ACKNOWLEDGED

    async def submit_rejection(self, row: RejectionRow) -> None:
        return None


def without_storage(settings: Settings | None = None) -> PostbackApp:
    return create_app(settings, storage=Acknowledger())
