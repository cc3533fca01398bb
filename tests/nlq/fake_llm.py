"""A local stand-in for an OpenAI-compatible chat endpoint (the one stand-in these tests
allow, since no model can be reached here): a small Starlette app on a free port that
answers /v1/chat/completions with what the test scripted, and records what it was sent."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


@dataclass
class Reply:
    """One scripted answer: the message text, or an HTTP status, a delay, a broken body."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    raw_body: str | None = None


@dataclass
class FakeLlm:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    # Chooses the reply from the user's question; `replies` overrides it in order.
    answer: Callable[[str], Reply] = lambda _question: Reply("CANNOT_ANSWER")
    replies: list[Reply] = field(default_factory=list)

    def reply_with(self, *replies: Reply | str) -> None:
        self.replies = [r if isinstance(r, Reply) else Reply(r) for r in replies]

    def reset(self) -> None:
        self.requests.clear()
        self.headers.clear()
        self.replies.clear()
        self.answer = lambda _question: Reply("CANNOT_ANSWER")

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        question = next(
            (m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), ""
        )
        reply = self.replies.pop(0) if self.replies else self.answer(question)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.raw_body is not None:
            return PlainTextResponse(reply.raw_body, status_code=reply.status)
        if reply.status != 200:
            return JSONResponse({"error": {"message": "scripted failure"}}, reply.status)
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.content},
                        "finish_reason": "stop",
                    }
                ],
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])]
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve_fake_llm() -> AsyncIterator[FakeLlm]:
    """The fake endpoint over real HTTP on 127.0.0.1; its base URL in `.url`."""
    fake = FakeLlm()
    port = _free_port()
    config = uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    fake.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield fake
    finally:
        server.should_exit = True
        await task


def sql_block(sql: str) -> str:
    """How chat models usually answer: a sentence and a fenced block."""
    return f"Here is the query:\n```sql\n{sql}\n```"


@pytest.fixture(scope="module")
async def fake_llm_server() -> AsyncIterator[FakeLlm]:
    async with serve_fake_llm() as fake:
        yield fake


@pytest.fixture
def fake_llm(fake_llm_server: FakeLlm) -> Iterator[FakeLlm]:
    """The module's fake endpoint, with no script and no record left by another test."""
    fake_llm_server.reset()
    yield fake_llm_server
    fake_llm_server.reset()
