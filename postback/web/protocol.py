"""The HTTP protocol the service runs under: uvicorn's httptools protocol, one write per answer.

uvicorn writes a response's status line and headers, then its body, as two writes; with
TCP_NODELAY each is its own system call and its own packet, and each wakes the reader. Here
the writes made while one event-loop callback runs are joined and sent once, just after it:
an answer leaves as one packet, and a client waiting for it is woken once.

Measured against uvicorn's stock `http="httptools"` in three alternated pairs of
`postback-bench run` (2026-12-03): +8 to +14% postbacks per second (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Writes are held back only while they are small: a streamed body leaves in pieces of about
# this size, never gathered whole in memory.
JOIN_LIMIT = 64 * 1024


class _JoinedWrites:
    """A transport whose writes are gathered and sent together at the end of the callback."""

    __slots__ = ("_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None
        self._size = 0

    def write(self, data: bytes) -> None:
        if self._pending is None:
            if len(data) >= JOIN_LIMIT:
                self._transport.write(data)
                return
            self._pending = [data]
            self._size = len(data)
            self._loop.call_soon(self._flush)
        else:
            self._pending.append(data)
            self._size += len(data)
            if self._size >= JOIN_LIMIT:
                self._flush()

    def _flush(self) -> None:
        pending = self._pending
        self._pending = None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_write_buffer_size(self) -> int:
        held = self._size if self._pending is not None else 0
        return held + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class JoinedWritesProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_JoinedWrites(transport, self.loop))  # type: ignore[arg-type]
