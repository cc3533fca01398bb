"""structlog set-up: readable lines in development; in production and on Cloud Run, one JSON
object per line with the fields Cloud Logging reads (`severity`, `message`, `time`, and the
request's trace), for the service's own events and for the libraries' (uvicorn's) alike."""

from __future__ import annotations

import logging
import sys

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from postback.settings import Settings

TRACE = "logging.googleapis.com/trace"
SPAN = "logging.googleapis.com/spanId"
SAMPLED = "logging.googleapis.com/trace_sampled"
HANDLER = "postback"


def _cloud_logging_fields(
    _logger: object, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """`level` and `event` under the names Cloud Logging gives meaning to."""
    event.pop("color_message", None)  # uvicorn's copy of the message with terminal colours
    level = str(event.pop("level", method)).upper()
    event["severity"] = "WARNING" if level == "WARN" else level
    if "event" in event:
        event["message"] = event.pop("event")
    if "timestamp" in event:
        event["time"] = event.pop("timestamp")
    return event


def configure_logging(settings: Settings) -> None:
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor
    if settings.json_logs:
        shared.append(structlog.processors.format_exc_info)
        shared.append(_cloud_logging_fields)
        renderer = structlog.processors.JSONRenderer()
    else:
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    # The standard library's records (uvicorn, asyncpg, alembic) rendered the same way.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        )
    )
    handler.set_name(HANDLER)
    root = logging.getLogger()
    # Replaces only this function's earlier handler: others (a test's log capture) stay.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != HANDLER] + [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def trace_fields(header: bytes, project: str) -> dict[str, object]:
    """The log fields for an `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` header."""
    trace, _, rest = header.decode("latin-1").partition("/")
    span, _, options = rest.partition(";")
    if not trace or not all(c in "0123456789abcdefABCDEF" for c in trace):
        return {}
    fields: dict[str, object] = {TRACE: f"projects/{project}/traces/{trace.lower()}"}
    if span.isdigit():
        fields[SPAN] = span
    fields[SAMPLED] = options.strip() == "o=1"
    return fields


class TraceContext:
    """Pure ASGI middleware: while a request that carries Cloud Run's trace header is being
    answered, every log line names its trace, so Cloud Logging groups them under it."""

    def __init__(self, app: ASGIApp, project: str) -> None:
        self.app = app
        self.project = project

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = None
        if scope["type"] == "http":
            header = next(
                (v for n, v in scope["headers"] if n == b"x-cloud-trace-context"),
                None,
            )
        fields = trace_fields(header, self.project) if header else {}
        if not fields:
            await self.app(scope, receive, send)
            return
        tokens = structlog.contextvars.bind_contextvars(**fields)
        try:
            await self.app(scope, receive, send)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
