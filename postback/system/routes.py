"""/health, /info and /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from postback.metrics import DELIVERIES, QUEUE_DEPTH, SPOOL_DEPTH
from postback.system import service

router = APIRouter(tags=["system"])


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Whether postbacks are kept: 200 while the database or the spool takes them, else 503."""
    state = request.app.state
    ok = await service.database_ok(state.db.write_pool)
    spool = state.spool
    # With the database away, postbacks are still acknowledged from the spool, so a load
    # balancer must keep sending them here: 503 only when neither can keep a postback.
    accepting = ok or spool.writable
    body = {
        "status": "ok" if ok and not spool.depth else "degraded",
        "database": "up" if ok else "down",
        "spool": "ok" if spool.writable else "unwritable",
        "spool_depth": spool.depth,
        "write_queue_depth": state.batcher.depth,
        "deliveries": await _deliveries(request) if ok else None,
    }
    return JSONResponse(body, status_code=200 if accepting else 503)


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process is up and answering: the startup and liveness probe (no database check)."""
    # A database outage must not restart instances: they keep acknowledging from the spool.
    return {"status": "live"}


async def _deliveries(request: Request) -> dict[str, int] | None:
    """Outgoing postbacks waiting and given up, also set as the `postback_deliveries` gauge."""
    try:
        counts = await service.delivery_counts(request.app.state.db.engine)
    except Exception:
        return None
    for state, count in counts.items():
        DELIVERIES.labels(state).set(count)
    return counts


@router.get("/info")
async def info(request: Request) -> dict[str, Any]:
    """Version, uptime, settings without secrets, and row counts."""
    state = request.app.state
    try:
        counts: dict[str, Any] = await service.row_counts(state.db.write_pool)
    except Exception:
        counts = {"error": "database unavailable"}
    return {
        "name": "postback",
        "version": service.version(),
        "uptime_seconds": service.uptime_seconds(),
        "settings": state.settings.public_summary(),
        "rows": counts,
    }


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    QUEUE_DEPTH.set(request.app.state.batcher.depth)
    SPOOL_DEPTH.set(request.app.state.spool.depth)
    await _deliveries(request)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
