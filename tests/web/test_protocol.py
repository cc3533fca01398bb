"""The server's HTTP protocol: uvicorn's httptools protocol with a response's writes joined."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from postback.web.protocol import JOIN_LIMIT, JoinedWritesProtocol

BODY = b'{"status":"ok"}'


async def fixed_answer(scope: Any, receive: Any, send: Any) -> None:
    """The same small JSON answer to every request, after reading its body."""
    more = scope["method"] == "POST"
    while more:
        more = (await receive()).get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


class RecordingTransport(asyncio.Transport):
    """What the protocol writes, write by write, and whether it closed the connection."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


async def _connection(app: Any = fixed_answer) -> tuple[JoinedWritesProtocol, RecordingTransport]:
    config = uvicorn.Config(app, http=JoinedWritesProtocol, lifespan="off")
    protocol = JoinedWritesProtocol(
        config, ServerState(), app_state={}, _loop=asyncio.get_running_loop()
    )
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /postback/?conversion_id=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /postback/ HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\na=1&b=2",
    ],
)
async def test_an_answer_is_one_write(request_bytes):
    protocol, transport = await _connection()
    protocol.data_received(request_bytes)
    await _settle()
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert body == BODY
    assert not transport.closed


async def test_pipelined_requests_get_every_answer_in_order():
    protocol, transport = await _connection()
    request = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    protocol.data_received(request * 3)
    await _settle()
    answers = b"".join(transport.writes)
    assert answers.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert answers.endswith(BODY)


async def test_a_closing_connection_gets_its_whole_answer_before_the_close():
    protocol, transport = await _connection()
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await _settle()
    assert transport.closed
    assert b"".join(transport.writes).endswith(BODY)


async def test_a_malformed_request_is_answered_400_and_closed():
    protocol, transport = await _connection()
    protocol.data_received(b"NOT HTTP\r\n\r\n")
    await _settle()
    assert transport.closed
    assert b"".join(transport.writes).startswith(b"HTTP/1.1 400 ")


CHUNK = b"x" * (JOIN_LIMIT // 4)


async def streamed(scope: Any, receive: Any, send: Any) -> None:
    """Sixteen body pieces sent without the app ever waiting between them."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(16):
        await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def test_a_streamed_body_leaves_in_bounded_pieces():
    protocol, transport = await _connection(streamed)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await _settle()
    assert len(transport.writes) >= 4
    assert max(map(len, transport.writes)) < 2 * JOIN_LIMIT
    _, _, chunked = b"".join(transport.writes).partition(b"\r\n\r\n")
    assert chunked.count(CHUNK) == 16
    assert chunked.endswith(b"0\r\n\r\n")
