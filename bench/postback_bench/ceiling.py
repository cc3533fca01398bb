"""The machine's HTTP ceiling: a bare ASGI app that answers every request with a fixed JSON body.

It reads the request body as the postback endpoint does, so both phases move the same bytes
through the same server; the only difference left is the work the service does.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

BODY = b'{"status":"ok"}'
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ],
}
_BODY = {"type": "http.response.body", "body": BODY}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()  # lifespan.startup
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = scope["method"] == "POST"
    while more:
        more = (await receive()).get("more_body", False)
    await send(_START)
    await send(_BODY)
