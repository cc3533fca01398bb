"""Import of Involve Asia history: a conversion report export stored as if it had been
postbacked.

Every row goes through the postback's own typing (`ingest.service.build_row`, so the same
cleaning of ingest/fields.py and the partner's parsing options) and the postback's own write
(`ingest.repository.write_conversions`: the same duplicate detection and status changes, the
same rollups by trigger). All or nothing: the whole file is typed first and any bad row stops
it before anything is stored (each problem named with its line and field), and the rows are
written in one transaction.

Idempotent: a row's receipt id is derived from the partner and the row's typed values, so the
same row imported again (the same file, or the same data saved as CSV instead of XLSX) is
found by its receipt and stored nothing new. A row that differs (a later export where the
status moved) is a new postback of that conversion: a duplicate that moves the first row's
status, as a live status update would.

Forwards: imported rows queue no outgoing postbacks unless asked (`forward=True`): a partner's
tracker would otherwise receive months of old conversions at once.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import orjson

from postback.ingest import fields
from postback.ingest.repository import NO_FORWARDS, write_conversions
from postback.ingest.schemas import ConversionRow
from postback.ingest.service import Received, build_row
from postback.lifecycle.report_file import Report
from postback.tenants.directory import TenantInfo, tenant_info
from postback.tenants.repository import directory_row

CHUNK = 500
METHOD = "IMPORT"
# The typed fields a receipt id is derived from: the row's content, not when or how it came.
_CONTENT = tuple(
    name
    for name in ConversionRow._fields
    if name not in ("receipt_id", "raw", "received_at", "source_ip", "deduplicated")
)


class UnknownPartner(LookupError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no partner with slug {slug!r}")


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field} {self.message}"


class ImportRefused(ValueError):
    """Rows that cannot be stored: nothing of the file was."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing was imported")
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    partner: str
    rows: int  # data rows read
    stored: int  # new rows stored (first rows and duplicates)
    first_rows: int  # new conversions
    duplicates: int  # stored as further postbacks of a conversion already there
    already_imported: int  # found by their receipt: nothing stored
    status_changes: int  # conversions whose status the import moved
    forwarded: bool
    dry_run: bool


async def find_partner(conn: asyncpg.Connection, slug: str, default_zone: ZoneInfo) -> TenantInfo:
    row = await directory_row(conn, slug)
    if row is None:
        raise UnknownPartner(slug)
    return tenant_info(row, default_zone)


def import_receipt_id(row: ConversionRow) -> uuid.UUID:
    """The receipt id an imported row is stored under: the same for the same partner and
    values, whatever file it came from. Version 7 like every receipt id, its time the
    conversion's (or 0), its other bits from a digest of the content."""
    content = orjson.dumps([str(getattr(row, name)) for name in _CONTENT])
    digest = hashlib.sha256(b"postback import\x00" + content).digest()
    moment = row.datetime_conversion
    millis = int(moment.timestamp() * 1000) if moment is not None else 0
    rand = int.from_bytes(digest[:10], "big")
    value = (millis << 80) | (0x7 << 76) | ((rand >> 68) << 64) | (0b10 << 62)
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def typed_rows(
    report: Report, tenant: TenantInfo, received_at: datetime
) -> tuple[list[ConversionRow], list[RowProblem]]:
    """Every row typed as a postback of `tenant`; the problems of the bad ones."""
    rows: list[ConversionRow] = []
    problems: list[RowProblem] = []
    placeholder = uuid.UUID(int=0)
    for line in report.rows:
        raw: dict[str, Any] = {**line.params, "import": {"file": report.name, "line": line.line}}
        received = Received(line.params, raw, METHOD, None, received_at)
        try:
            row = build_row(received, tenant, tenant.zone, placeholder)
        except fields.FieldErrors as exc:
            problems += [RowProblem(line.line, e["field"], e["message"]) for e in exc.errors]
            continue
        rows.append(row._replace(receipt_id=import_receipt_id(row)))
    return rows, problems


@dataclass(slots=True)
class _Counts:
    already: int = 0
    first_rows: int = 0
    duplicates: int = 0
    moved: set[int] = field(default_factory=set)  # first rows whose status moved


async def import_report(
    conn: asyncpg.Connection,
    report: Report,
    tenant: TenantInfo,
    *,
    dry_run: bool = False,
    forward: bool = False,
    progress: Callable[[int], None] | None = None,
    received_at: datetime | None = None,
) -> ImportSummary:
    """Store the report's rows for `tenant`; ImportRefused, storing nothing, if any row is bad.

    The rows are written CHUNK at a time, each chunk its own short transaction, so that live
    postbacks of the same conversions never wait long behind an import: an import stopped
    halfway (the database gone) is finished by running it again, which stores only what is
    missing. A dry run writes every chunk in one transaction and rolls it back, so its counts
    are exactly what the import would store; it holds the rows it touched until it ends."""
    received_at = received_at or datetime.now(UTC)
    rows, problems = typed_rows(report, tenant, received_at)
    if problems:
        raise ImportRefused(problems)
    counts = _Counts()
    chunks = [rows[start : start + CHUNK] for start in range(0, len(rows), CHUNK)]
    if dry_run:
        transaction = conn.transaction()
        await transaction.start()
        try:
            for chunk in chunks:
                await _write(conn, tenant, chunk, forward, counts)
                if progress is not None:
                    progress(len(chunk))
        finally:
            await transaction.rollback()
    else:
        for chunk in chunks:
            async with conn.transaction():
                await _write(conn, tenant, chunk, forward, counts)
            if progress is not None:
                progress(len(chunk))
    return ImportSummary(
        partner=tenant.slug,
        rows=len(report.rows),
        stored=counts.first_rows + counts.duplicates,
        first_rows=counts.first_rows,
        duplicates=counts.duplicates,
        already_imported=counts.already,
        status_changes=len(counts.moved),
        forwarded=forward,
        dry_run=dry_run,
    )


async def _write(
    conn: asyncpg.Connection,
    tenant: TenantInfo,
    chunk: Sequence[ConversionRow],
    forward: bool,
    counts: _Counts,
) -> None:
    """Write one chunk in the caller's transaction, adding to `counts`."""
    if not forward:
        await conn.execute("SELECT set_config($1, 'on', true)", NO_FORWARDS)
    known = {
        r["receipt_id"]
        for r in await conn.fetch(
            "SELECT receipt_id FROM conversion WHERE receipt_id = ANY($1::uuid[])",
            list({row.receipt_id for row in chunk}),
        )
    }
    # A row repeated within the file has the same receipt: stored once, the rest known.
    fresh: dict[uuid.UUID, ConversionRow] = {}
    for row in chunk:
        if row.receipt_id in known or row.receipt_id in fresh:
            counts.already += 1
        else:
            fresh[row.receipt_id] = row
    if not fresh:
        return
    for stored in await write_conversions(conn, list(fresh.values())):
        if stored.duplicate:
            counts.duplicates += 1
        else:
            counts.first_rows += 1
    # The write sets a moved first row's `status_updated_at` to the transaction's time.
    moved = await conn.fetch(
        "SELECT id FROM conversion WHERE tenant_id = $1 AND conversion_id = ANY($2)"
        " AND deduplicated AND NOT is_duplicate AND status_updated_at = now()",
        tenant.id,
        list({row.conversion_id for row in fresh.values()}),
    )
    counts.moved.update(r["id"] for r in moved)
