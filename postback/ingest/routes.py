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

from postback.ingest.service import (
    Accepted,
    IngestService,
    Outcome,
    Received,
    Refused,
    Unavailable,
)
from postback.metrics import POSTBACKS

log = structlog.get_logger(__name__)

PATHS = frozenset(("/postback", "/postback/"))
MAX_FIELDS = 1000
# Of a body over the size limit, this much is read and kept with the rejection.
KEPT_PREFIX = 8192
_JSON_HEADERS = [(b"content-type", b"application/json")]
# The counter of each outcome, looked up once: `POSTBACKS.labels(…)` costs 1.6 µs a request.
_COUNTED = {
    outcome: POSTBACKS.labels(outcome)
    for outcome in (
        "accepted", "duplicate", "spooled", "refused", "overloaded", "unavailable", "failed"
    )
}  # fmt: skip


class BadRequest(Exception):
    """A request refused as a whole; `kept` is the start of a body too large to read."""

    def __init__(
        self, status_code: int, reason: str, field: str, message: str, kept: bytes | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = reason
        self.errors = [{"field": field, "message": message}]
        self.kept = kept


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
    """`parse_qsl(text, keep_blank_values=True, errors="strict")`, pairs without `%` or `+`
    taken as they are (17-parameter postback: 5.4 µs here, parse_qsl 18.2 µs, measured
    2026-12-03, see docs/write-path.md)."""
    pairs = []
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            if "%" in part or "+" in part:
                name, value = _unquote_plus(name), _unquote_plus(value)
            pairs.append((name, value))
    return pairs


def _unquote_plus(text: str) -> str:
    """`unquote_plus(text, errors="strict")`. The common case (ASCII, every `%` followed by
    two hex digits) is decoded in C by the quoted-printable decoder with `%` standing in for
    `=`: 5.4 against 12.6 µs per postback with `unquote_plus` (docs/write-path.md). The length
    check proves every escape was decoded as one byte, else the standard library decodes."""
    text = text.replace("+", " ")
    if "%" not in text:
        return text
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


def _merge(
    pairs: Iterable[tuple[str, Any]],
    params: dict[str, Any],
    raw: dict[str, Any],
    conflicts: list[str],
) -> None:
    """`raw` keeps every value of a repeated parameter; a repeat with the same value is
    harmless, one with another value is named in `conflicts` (the postback is refused)."""
    for key, value in pairs:
        if "\x00" in key:
            raise BadRequest(422, "invalid", "query", "a parameter name contains a NUL character")
        if key in raw and key in params:
            previous = raw[key]
            raw[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
            if value != params[key] and key not in conflicts:
                conflicts.append(key)
        else:
            raw[key] = value
        params[key] = value


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _too_large(limit: int, kept: bytes) -> BadRequest:
    message = f"is larger than {limit} bytes (its first {KEPT_PREFIX} bytes are kept)"
    return BadRequest(413, "too_large", "body", message, kept)


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    length = _header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(limit, await _read_prefix(receive))
    chunks = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest(400, "disconnected", "body", "the client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            raise _too_large(limit, b"".join(chunks)[: KEPT_PREFIX + 1])
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _read_prefix(receive: Receive) -> bytes:
    """The start of a body too large to read: a little more than KEPT_PREFIX when there is
    more (so it shows as cut off), the rest is never read."""
    chunks = []
    size = 0
    more = True
    while more and size <= KEPT_PREFIX:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)[: KEPT_PREFIX + 1]


def _parse_body(
    body: bytes,
    content_type: bytes,
    params: dict[str, Any],
    raw: dict[str, Any],
    conflicts: list[str],
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
        _merge(document.items(), params, raw, conflicts)
    elif kind.startswith(b"multipart/"):
        raise BadRequest(415, "unsupported", "body", "use a query string, JSON or a form body")
    else:
        _merge(_pairs(_decode(body, "body"), "body"), params, raw, conflicts)


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
            errors = [{"field": "method", "message": "use GET or POST"}]
            allow = [(b"allow", b"GET, POST")]
            await _respond(send, 405, {"status": "error", "errors": errors}, allow)
            return
        service = self._service()
        if service is None:
            await _respond(send, 503, _error("service", "starting up, retry shortly"), _retry(1))
            return
        try:
            outcome = await self._receive(service, scope, receive, method)
        except Exception:  # nothing a client sends may end as a 500
            log.exception("postback_failed")
            _COUNTED["failed"].inc()
            await _respond(
                send, 503, _error("service", "temporarily unable to store, retry"), _retry(5)
            )
            return
        await _respond(send, *_answer(outcome))

    async def _receive(
        self, service: IngestService, scope: Scope, receive: Receive, method: str
    ) -> Outcome:
        """Parse the request and hand it to the service; a request that cannot be parsed is
        kept as a rejection with its raw text."""
        client = scope.get("client")
        source_ip = client[0] if client else None
        query = scope.get("query_string", b"")
        body = b""
        params: dict[str, Any] = {}
        raw: dict[str, Any] = {}
        conflicts: list[str] = []
        try:
            if len(query) > self._max_query:
                raise BadRequest(
                    414, "too_large", "query", f"is longer than {self._max_query} bytes"
                )
            if query:
                _merge(_pairs(_decode(query, "query"), "query"), params, raw, conflicts)
            if method == "POST":
                body = await _read_body(scope, receive, self._max_body)
                _parse_body(body, _header(scope, b"content-type") or b"", params, raw, conflicts)
        except BadRequest as exc:
            raw_text = printable(query, self._max_query)
            kept = body or exc.kept
            if kept:
                raw_text += "\n\n" + printable(kept, KEPT_PREFIX if exc.kept else self._max_body)
            return await service.refuse(
                None,
                exc.status_code,
                exc.reason,
                exc.errors,
                await service.partner_of(params),
                method=method,
                source_ip=source_ip,
                raw_text=raw_text,
                raw_truncated=len(query) > self._max_query or exc.kept is not None,
            )
        received = Received(params, raw, method, source_ip, datetime.now(UTC))
        if conflicts:
            return await service.refuse_conflicting(received, conflicts)
        return await service.receive(received)


def _answer(outcome: Outcome) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]] | None]:
    """The one mapping from the service's outcome to the HTTP answer (status, body, headers);
    it also counts the outcome."""
    match outcome:
        case Accepted(stored=stored):
            kind = "spooled" if stored.spooled else "duplicate" if stored.duplicate else "accepted"
            _COUNTED[kind].inc()
            answer = {
                "status": "ok",
                "id": stored.id,
                "conversion_id": outcome.conversion_id,
                "duplicate": stored.duplicate,
                "tenant": outcome.tenant.slug,
            }
            if stored.spooled:
                answer["spooled"] = True
            return 200, answer, None
        case Refused(status_code=status, errors=errors, retry_after=retry_after):
            _COUNTED["refused"].inc()
            headers = _retry(retry_after) if retry_after is not None else None
            return status, {"status": "error", "errors": errors}, headers
        case Unavailable(cause="overloaded"):
            _COUNTED["overloaded"].inc()
            return 503, _error("service", "too busy, retry shortly"), _retry(1)
        case Unavailable():  # cause "database": neither the database nor the spool took it
            _COUNTED["unavailable"].inc()
            return 503, _error("database", "unavailable, retry shortly"), _retry(5)


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
