"""A durable local spool: acknowledged postbacks wait here while the database is away.

Segment files `<seq>.seg` under one slot directory hold framed records, one per batch:
a header (magic, payload length, CRC-32 of the payload) and the batch's rows as JSON with
Decimal, datetime and UUID values tagged so they come back exactly. A record is written with
one write() and fsync'd before its senders are answered. A crash mid-write leaves a torn last
record, which the reader detects by its length or checksum and ignores: its senders were never
answered.

A replay task sends sealed segments, oldest first, through `repository.store_rows`
(idempotent by receipt id) and deletes a segment only after the database confirmed all of it,
so replaying a segment twice after a crash stores nothing twice.

Each process takes its own slot (`<spool dir>/<n>`, held by an fcntl lock), so several
workers on one machine never share a segment; at start-up a process also replays slots left
behind by processes that are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import structlog

from postback.ingest import repository
from postback.ingest.repository import UNAVAILABLE
from postback.ingest.schemas import ConversionRow, RejectionRow
from postback.metrics import REPLAYED, SPOOLED

log = structlog.get_logger(__name__)

MAGIC = b"PBS1"
HEADER = struct.Struct(">4sII")  # magic, payload length, CRC-32 of the payload
MAX_PAYLOAD = 256 * 1024 * 1024
SUFFIX = ".seg"


class SpoolError(OSError):
    """The spool could not be written (disk full, permissions): nothing was acknowledged."""


# ---- record format -------------------------------------------------------------------------


def _encode_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, UUID):
        return {"u": str(value)}
    raise TypeError(f"cannot spool a value of type {type(value).__name__}")


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        ((tag, text),) = value.items()
        if tag == "d":
            return Decimal(text)
        if tag == "t":
            return datetime.fromisoformat(text)
        if tag == "u":
            return UUID(text)
        raise ValueError(f"unknown spool tag {tag!r}")
    return value


# A row is kept as a JSON array of its values in ConversionRow's field order (version 1 of the
# format); these two functions are the only place that order meets the disk.


def encode_record(rows: Sequence[ConversionRow]) -> bytes:
    """One framed record holding `rows`, losslessly."""
    payload = orjson.dumps({"v": 1, "rows": [[_encode_value(v) for v in row] for row in rows]})
    return HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def decode_payload(payload: bytes) -> list[ConversionRow]:
    document = orjson.loads(payload)
    return [ConversionRow._make(_decode_value(v) for v in row) for row in document["rows"]]


def read_records(data: bytes) -> Iterator[bytes]:
    """Payloads of the complete, intact records; stops at a torn or damaged one."""
    offset = 0
    while offset + HEADER.size <= len(data):
        magic, length, crc = HEADER.unpack_from(data, offset)
        start = offset + HEADER.size
        payload = data[start : start + length]
        if magic != MAGIC or length > MAX_PAYLOAD or len(payload) != length:
            break
        if zlib.crc32(payload) != crc:
            break
        yield payload
        offset = start + length
    if offset != len(data):
        log.warning("spool_torn_record_ignored", bytes=len(data) - offset)


def read_segment(path: Path) -> list[list[ConversionRow]]:
    """Every batch of one segment, in the order written."""
    return [decode_payload(p) for p in read_records(path.read_bytes())]


# ---- files ---------------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{SUFFIX}"))


def _lock(directory: Path) -> int | None:
    """An exclusive lock on the slot, or None when another process holds it."""
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _remove(path: Path) -> None:
    path.unlink()
    _fsync_dir(path.parent)


@dataclass
class _Segment:
    path: Path
    rows: int
    lock: int | None = None  # held for a slot adopted from a process that is gone


@dataclass
class _Writer:
    directory: Path
    next_seq: int
    fd: int | None = None
    path: Path | None = None
    rows: int = 0
    sealed: list[_Segment] = field(default_factory=list)

    def append(self, record: bytes, rows: int) -> None:
        if self.fd is None:
            path = self.directory / f"{self.next_seq:020d}{SUFFIX}"
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            self.next_seq += 1
            self.path = path
            _fsync_dir(self.directory)
        start = os.lseek(self.fd, 0, os.SEEK_END)
        try:
            written = os.write(self.fd, record)
            if written != len(record):
                raise SpoolError(f"short write to the spool ({written} of {len(record)} bytes)")
            os.fsync(self.fd)
        except OSError:
            # Never leave a partial record in front of later ones: cut it off and continue in
            # a fresh segment (the reader stops at the first damaged record of a segment).
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, start)
            self.seal()
            raise
        self.rows += rows

    def seal(self) -> None:
        """Close the segment being written; later records start a new one."""
        if self.fd is None or self.path is None:
            return
        os.close(self.fd)
        self.fd = None
        self.sealed.append(_Segment(self.path, self.rows))
        self.rows = 0


# ---- the spool -----------------------------------------------------------------------------


class Spool:
    """Append batches durably; replay them into the database in order when it is reachable."""

    def __init__(self, root: Path, pool: asyncpg.Pool, *, probe_seconds: float = 1.0) -> None:
        self.root = root
        self._pool = pool
        self._probe_seconds = probe_seconds
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._depth = 0
        self._slot_lock: int | None = None
        self._writer: _Writer | None = None
        self._task: asyncio.Task[None] | None = None
        self.write_failed = False

    @property
    def depth(self) -> int:
        """Postbacks acknowledged from the spool and not yet confirmed by the database."""
        return self._depth

    @property
    def writable(self) -> bool:
        return not self.write_failed and os.access(self.directory, os.W_OK)

    @property
    def directory(self) -> Path:
        assert self._writer is not None, "open() the spool first"
        return self._writer.directory

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        slot = 0
        while True:
            directory = self.root / str(slot)
            directory.mkdir(exist_ok=True)
            fd = _lock(directory)
            if fd is not None:
                break
            slot += 1
        self._slot_lock = fd
        existing = [_Segment(p, _count(p)) for p in _segments(directory)]
        next_seq = int(existing[-1].path.stem) + 1 if existing else 0
        self._writer = _Writer(directory, next_seq, sealed=existing + self._orphans(directory))
        self._depth = sum(s.rows for s in self._writer.sealed)
        log.info("spool_opened", directory=str(directory), depth=self._depth)

    def _orphans(self, own: Path) -> list[_Segment]:
        """Segments of slots no running process holds (a worker that is gone)."""
        found = []
        for directory in sorted(self.root.iterdir(), key=lambda p: p.name):
            if directory == own or not directory.is_dir() or not _segments(directory):
                continue
            fd = _lock(directory)
            if fd is None:
                continue
            segments = _segments(directory)
            found += [_Segment(p, _count(p)) for p in segments]
            found[-1].lock = fd  # released once the slot's last segment is replayed
        return found

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._replay(), name="spool-replay")
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        async with self._lock:
            if self._writer is not None:
                self._writer.seal()
                for segment in self._writer.sealed:
                    if segment.lock is not None:
                        _unlock(segment.lock)
            if self._slot_lock is not None:
                _unlock(self._slot_lock)
                self._slot_lock = None

    async def append(self, rows: Sequence[ConversionRow]) -> None:
        """Write `rows` as one record and fsync it; raise SpoolError when that fails."""
        record = encode_record(rows)
        async with self._lock:
            writer = self._writer
            assert writer is not None, "open() the spool first"
            try:
                await asyncio.to_thread(writer.append, record, len(rows))
            except OSError as exc:
                self.write_failed = True
                raise SpoolError(str(exc)) from exc
            self.write_failed = False
            self._depth += len(rows)
        SPOOLED.inc(len(rows))
        self._wake.set()

    async def _next_segment(self) -> _Segment | None:
        async with self._lock:
            writer = self._writer
            assert writer is not None
            if not writer.sealed and writer.rows:
                await asyncio.to_thread(writer.seal)
            return writer.sealed[0] if writer.sealed else None

    async def _replay(self) -> None:
        while True:
            segment = await self._next_segment()
            if segment is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await self.replay_segment(segment.path)
            except UNAVAILABLE as exc:
                log.info("spool_waiting_for_database", error=str(exc) or type(exc).__name__)
                await asyncio.sleep(self._probe_seconds)
                continue
            except Exception:
                log.exception("spool_replay_failed", segment=str(segment.path))
                await asyncio.sleep(self._probe_seconds)
                continue
            async with self._lock:
                assert self._writer is not None
                self._writer.sealed.remove(segment)
                self._depth -= segment.rows
            if segment.lock is not None:
                _unlock(segment.lock)
            REPLAYED.inc(segment.rows)
            log.info("spool_segment_replayed", segment=str(segment.path), rows=segment.rows)

    async def replay_segment(self, path: Path) -> None:
        """Store every row of one segment, then delete it (only after the database confirmed)."""
        batches = await asyncio.to_thread(read_segment, path)
        for rows in batches:
            async with self._pool.acquire(timeout=10) as conn:
                await store(conn, rows)
        await asyncio.to_thread(_remove, path)


def _count(path: Path) -> int:
    return sum(len(batch) for batch in read_segment(path))


async def store(conn: asyncpg.Connection, rows: Sequence[ConversionRow]) -> None:
    """Write spooled rows; one the database refuses is kept as a rejection, never dropped."""
    outcomes = await repository.store_rows(conn, rows)
    refused = [
        _unstorable(row, outcome)
        for row, outcome in zip(rows, outcomes, strict=True)
        if isinstance(outcome, asyncpg.PostgresError)
    ]
    if refused:
        # Their senders were answered 200 already; the rejection keeps what was sent. A replay
        # after a crash may keep one twice (rejections have no unique key), which loses nothing.
        await repository.write_rejections(conn, refused)


def _unstorable(row: ConversionRow, error: asyncpg.PostgresError) -> RejectionRow:
    log.error("spooled_row_unstorable", conversion_id=row.conversion_id, error=str(error))
    return RejectionRow.of(
        row.received_at,
        "unstorable",
        [{"field": "postback", "message": "could not be stored after a spool replay"}],
        conversion_id=row.conversion_id,
        source_ip=row.source_ip,
        payload=orjson.loads(row.raw) if row.raw else None,
    )
