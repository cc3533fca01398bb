"""`GET|POST /postback/` as a lean ASGI endpoint, below the framework's per-request machinery.

The network's servers call this path thousands of times a second; everything here is one
pass over the bytes: size limits, query/JSON/form parsing, then the ingest service.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import orjson
import structlog
from starlette.types import Receive, Scope, Send

from postback.ingest.batcher import Overloaded, StorageUnavailable, Unstorable
from postback.ingest.service import IngestService, Received, Refused
from postback.metrics import POSTBACKS

log = structlog.get_logger(__name__)

PATHS = frozenset(("/postback", "/postback/"))
MAX_FIELDS = 1000
_JSON_HEADERS = [(b"content-type", b"application/json")]
# The counter of each outcome, looked up once rather than per request.
_COUNTED = {
    outcome: POSTBACKS.labels(outcome)
    for outcome in (
        "accepted", "duplicate", "spooled", "refused", "overloaded", "unavailable", "failed"
    )
}  # fmt: skip


class BadRequest(Exception):
    def __init__(self, status_code: int, reason: str, field: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = reason
        self.errors = [{"field": field, "message": message}]


def printable(data: bytes, limit: int) -> str:
    """Raw bytes as text PostgreSQL can hold: invalid UTF-8 and NUL shown as escapes."""
    text = data[:limit].decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")
    return text + ("…" if len(data) > limit else "")


def _decode(data: bytes, field: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(422, "bad_encoding", field, "is not valid UTF-8") from None


def split_query(text: str) -> list[tuple[str, str]]:
    """`parse_qsl(text, keep_blank_values=True, errors="strict")`, without its per-pair
    overhead for the common case of values that need no decoding."""
    pairs = []
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            if "%" in part or "+" in part:
                name, value = _unquote(name), _unquote(value)
            pairs.append((name, value))
    return pairs


def _unquote(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    if "%" in text:
        text = _percent_decoded(text)
    return text


def _percent_decoded(text: str) -> str:
    """`unquote(text, errors="strict")`. The common case (ASCII, every `%` followed by two hex
    digits) is decoded in C by the quoted-printable decoder with `%` standing in for `=`; the
    length check proves every escape was decoded as one byte, else the general path runs."""
    if text.isascii() and "=" not in text and "\n" not in text and "\r" not in text:
        data = binascii.a2b_qp(text.replace("%", "="))
        if len(data) == len(text) - 2 * text.count("%"):
            return data.decode("utf-8")
    return unquote(text, errors="strict")


def _pairs(text: str, field: str) -> list[tuple[str, str]]:
    if text.count("&") >= MAX_FIELDS:
        raise BadRequest(422, "too_many_fields", field, f"has more than {MAX_FIELDS} parameters")
    try:
        return split_query(text)
    except UnicodeDecodeError:
        raise BadRequest(422, "bad_encoding", field, "is not valid UTF-8") from None


def _merge(pairs: Iterable[tuple[str, Any]], params: dict[str, Any], raw: dict[str, Any]) -> None:
    """Later values win in `params`; `raw` keeps every value of a repeated parameter."""
    for key, value in pairs:
        if "\x00" in key:
            raise BadRequest(422, "invalid", "query", "a parameter name contains a NUL character")
        if key in raw and key in params:
            previous = raw[key]
            raw[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            raw[key] = value
        params[key] = value


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    length = _header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise BadRequest(413, "too_large", "body", f"is larger than {limit} bytes")
    chunks = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest(400, "disconnected", "body", "the client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, "too_large", "body", f"is larger than {limit} bytes")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _parse_body(
    body: bytes, content_type: bytes, params: dict[str, Any], raw: dict[str, Any]
) -> None:
    if not body.strip():
        return
    kind = content_type.split(b";", 1)[0].strip().lower()
    looks_json = body.lstrip()[:1] in (b"{", b"[")
    if (
        kind == b"application/json"
        or kind.endswith(b"+json")
        or (looks_json and b"form" not in kind)
    ):
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadRequest(422, "invalid", "body", "is not valid JSON") from None
        if not isinstance(document, dict):
            raise BadRequest(422, "invalid", "body", "must be a JSON object")
        if len(document) > MAX_FIELDS:
            raise BadRequest(
                422, "too_many_fields", "body", f"has more than {MAX_FIELDS} parameters"
            )
        _merge(document.items(), params, raw)
    elif kind.startswith(b"multipart/"):
        raise BadRequest(415, "unsupported", "body", "use a query string, JSON or a form body")
    else:
        _merge(_pairs(_decode(body, "body"), "body"), params, raw)


class PostbackEndpoint:
    """ASGI app for the postback path; `service()` is None until the app has started."""

    def __init__(
        self,
        service: Callable[[], IngestService | None],
        *,
        max_body_bytes: int,
        max_query_bytes: int,
    ) -> None:
        self._service = service
        self._max_body = max_body_bytes
        self._max_query = max_query_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "POST"):
            await _respond(
                send,
                405,
                {"status": "error", "errors": [{"field": "method", "message": "use GET or POST"}]},
                [(b"allow", b"GET, POST")],
            )
            return
        service = self._service()
        if service is None:
            await _respond(send, 503, _error("service", "starting up, retry shortly"), _retry(1))
            return
        client = scope.get("client")
        source_ip = client[0] if client else None
        query = scope.get("query_string", b"")
        body = b""
        received = None
        try:
            if len(query) > self._max_query:
                raise BadRequest(
                    414, "too_large", "query", f"is longer than {self._max_query} bytes"
                )
            params: dict[str, Any] = {}
            raw: dict[str, Any] = {}
            if query:
                _merge(_pairs(_decode(query, "query"), "query"), params, raw)
            if method == "POST":
                body = await _read_body(scope, receive, self._max_body)
                _parse_body(body, _header(scope, b"content-type") or b"", params, raw)
            received = Received(params, raw, method, source_ip, datetime.now(UTC))
            accepted = await service.receive(received)
        except BadRequest as exc:
            await self._refuse_raw(service, send, exc, method, source_ip, query, body)
            return
        except Refused as exc:
            _COUNTED["refused"].inc()
            headers = _retry(exc.retry_after) if exc.retry_after is not None else None
            await _respond(
                send, exc.status_code, {"status": "error", "errors": exc.errors}, headers
            )
            return
        except Overloaded:
            _COUNTED["overloaded"].inc()
            await _respond(send, 503, _error("service", "too busy, retry shortly"), _retry(1))
            return
        except StorageUnavailable:
            _COUNTED["unavailable"].inc()
            await _respond(send, 503, _error("database", "unavailable, retry shortly"), _retry(5))
            return
        except Unstorable as exc:
            await self._unstorable(service, send, received, exc)
            return
        except Exception:
            log.exception("postback_failed")
            _COUNTED["failed"].inc()
            await _respond(
                send, 503, _error("service", "temporarily unable to store, retry"), _retry(5)
            )
            return
        stored = accepted.stored
        outcome = "spooled" if stored.spooled else "duplicate" if stored.duplicate else "accepted"
        _COUNTED[outcome].inc()
        answer = {
            "status": "ok",
            "id": stored.id,
            "conversion_id": accepted.conversion_id,
            "duplicate": stored.duplicate,
            "tenant": accepted.tenant.slug,
        }
        if stored.spooled:
            answer["spooled"] = True
        await _respond(send, 200, answer)

    async def _refuse_raw(
        self,
        service: IngestService,
        send: Send,
        exc: BadRequest,
        method: str,
        source_ip: str | None,
        query: bytes,
        body: bytes,
    ) -> None:
        raw_text = printable(query, self._max_query)
        if body:
            raw_text += "\n\n" + printable(body, self._max_body)
        try:
            await service.refuse(
                None,
                exc.status_code,
                exc.reason,
                exc.errors,
                method=method,
                source_ip=source_ip,
                raw_text=raw_text,
            )
        except Refused:
            pass
        except (Overloaded, StorageUnavailable):
            await _respond(send, 503, _error("database", "unavailable, retry shortly"), _retry(5))
            return
        _COUNTED["refused"].inc()
        await _respond(send, exc.status_code, {"status": "error", "errors": exc.errors})

    async def _unstorable(
        self, service: IngestService, send: Send, received: Received | None, exc: Unstorable
    ) -> None:
        errors = [{"field": "postback", "message": "could not be stored as a conversion"}]
        log.error("postback_unstorable", error=str(exc))
        try:
            await service.refuse(received, 422, "unstorable", errors)
        except Refused:
            pass
        except Exception:
            await _respond(send, 503, _error("database", "unavailable, retry shortly"), _retry(5))
            return
        _COUNTED["refused"].inc()
        await _respond(send, 422, {"status": "error", "errors": errors})


def _error(field: str, message: str) -> dict[str, Any]:
    return {"status": "error", "errors": [{"field": field, "message": message}]}


def _retry(seconds: int) -> list[tuple[bytes, bytes]]:
    return [(b"retry-after", str(seconds).encode())]


async def _respond(
    send: Send,
    status: int,
    payload: dict[str, Any],
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = orjson.dumps(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *_JSON_HEADERS,
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
