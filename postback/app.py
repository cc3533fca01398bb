"""Application factory: FastAPI for the API and pages, a lean endpoint for postbacks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from postback import __version__, migrate
from postback.accounts.jobs import SessionPruneJob
from postback.accounts.oidc_routes import router as oidc_router
from postback.accounts.pages import router as accounts_pages_router
from postback.accounts.routes import router as accounts_router
from postback.admin.routes import router as admin_router
from postback.alerting.jobs import NotificationWorker
from postback.alerting.routes import channel_sender
from postback.alerting.routes import router as alerting_router
from postback.anomalies.jobs import AnomalyJob
from postback.anomalies.pages import router as alert_pages_router
from postback.anomalies.routes import router as anomalies_router
from postback.audit.jobs import AuditRetentionJob
from postback.audit.pages import router as audit_pages_router
from postback.audit.routes import router as audit_router
from postback.auth import ADMIN_TOKEN_FILE, load_admin_token
from postback.conversions.routes import router as conversions_router
from postback.dashboard.routes import router as dashboard_router
from postback.db import Database
from postback.embedded import EmbeddedPostgres
from postback.errors import install_handlers
from postback.forecasts.routes import router as forecasts_router
from postback.forwarding.jobs import DeliveryWorker
from postback.forwarding.pages import router as forwarding_pages_router
from postback.forwarding.routes import policy_of
from postback.forwarding.routes import router as forwarding_router
from postback.forwarding.sender import Sender
from postback.ingest.batcher import Batcher
from postback.ingest.openapi import add_postback_paths
from postback.ingest.ratelimit import TenantRateLimiter
from postback.ingest.routes import PATHS, PostbackEndpoint
from postback.ingest.schemas import RowSink
from postback.ingest.service import IngestService
from postback.ingest.spool import Spool
from postback.lifecycle import service as lifecycle_service
from postback.lifecycle.jobs import CleanupJob
from postback.logging import TraceContext, configure_logging
from postback.metrics import observe_batch
from postback.nlq.pages import pages_router as nlq_pages_router
from postback.nlq.routes import router as nlq_router
from postback.rejections.pages import router as rejections_pages_router
from postback.rejections.routes import router as rejections_router
from postback.reports.jobs import ReportJob
from postback.reports.routes import reports_router
from postback.reports.routes import router as saved_questions_router
from postback.rollups.jobs import CompactionJob
from postback.settings import Settings, get_settings
from postback.sync import service as sync_service
from postback.sync.jobs import SyncJob
from postback.system.routes import router as system_router
from postback.tenants.directory import TenantDirectory
from postback.tenants.routes import router as tenants_router
from postback.web.headers import SecurityHeaders
from postback.web.routes import router as web_router

log = structlog.get_logger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    embedded = None
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
    else:
        embedded = EmbeddedPostgres(settings.home_dir)
        url = await asyncio.to_thread(embedded.start)
    await migrate.upgrade(url)
    db = await Database.connect(
        url, write_pool_size=settings.write_pool_size, read_pool_size=settings.read_pool_size
    )
    directory = TenantDirectory(db.write_pool, settings.zone, settings.tenant_cache_seconds)
    await directory.reload()
    spool = Spool(settings.spool_path, db.write_pool)
    await spool.open()
    spool.start()  # replays what a previous run left behind
    app.state.spool = spool
    sender = Sender(timeout=settings.forward_timeout, allow_private=settings.forward_allow_private)
    app.state.sender = sender
    deliveries = DeliveryWorker(
        db.job_pool,
        sender,
        policy_of(settings),
        concurrency=settings.forward_concurrency,
        poll_interval=settings.forward_poll_interval,
    )
    app.state.deliveries = deliveries

    def on_batch(size: int, seconds: float) -> None:
        observe_batch(size, seconds)
        deliveries.wake()  # the batch may have queued deliveries

    batcher = Batcher(
        db.write_pool,
        max_size=settings.batch_max_size,
        queue_limit=settings.batch_queue_limit,
        writers=settings.write_pool_size,
        on_batch=on_batch,
        spool=spool,
    )
    batcher.start()
    deliveries.start()
    # The retention keeps whatever the configured sync (POSTBACK_SYNC_TO) has not copied yet.
    lifecycle_service.use_sync_cutoff(sync_service.oldest_uncopied)
    cleanup = CleanupJob(db.engine, settings.cleanup_interval, history_days=settings.history_days)
    cleanup.start()
    app.state.cleanup = cleanup
    audit_retention = AuditRetentionJob(db.engine, settings.cleanup_interval, settings.audit_days)
    audit_retention.start()
    app.state.audit_retention = audit_retention
    session_prune = SessionPruneJob(
        db.engine, settings.cleanup_interval, settings.session_idle_minutes
    )
    session_prune.start()
    compaction = CompactionJob(db.engine, settings.compaction_interval, settings.timezone)
    compaction.start()
    app.state.compaction = compaction
    sync = SyncJob(db.engine, settings.sync_to, settings.sync_interval, settings.timezone)
    sync.start()
    app.state.sync = sync
    # Alert notifications: the forwarding machinery (sender, retry schedule, queue worker).
    app.state.channel_sender = channel_sender(sender, settings)
    notifications = NotificationWorker(
        db.job_pool,
        app.state.channel_sender,
        policy_of(settings),
        concurrency=min(settings.forward_concurrency, 4),
        poll_interval=settings.forward_poll_interval,
    )
    notifications.start()
    app.state.notifications = notifications
    anomalies = AnomalyJob(
        db.engine,
        settings.anomaly_interval,
        settle_hours=settings.anomaly_settle_hours,
        on_queued=notifications.wake,
    )
    anomalies.start()
    app.state.anomalies = anomalies
    reports = ReportJob(db.engine, app.state.channel_sender, settings, settings.report_interval)
    reports.start()
    app.state.reports = reports
    admin_token, generated = load_admin_token(settings)
    app.state.db = db
    app.state.directory = directory
    app.state.batcher = batcher
    app.state.admin_token = admin_token
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    # A storage given to create_app takes the batcher's place (the batcher still runs, idle).
    storage: RowSink = getattr(app.state, "storage", None) or batcher
    app.state.ingest = IngestService(
        directory, storage, TenantRateLimiter(redis_url), strict_tokens=settings.strict_tokens
    )
    if generated:  # shown this once; afterwards only where it is kept
        log.warning(
            "admin_token",
            token=admin_token,
            stored_in=str(settings.home_dir / ADMIN_TOKEN_FILE),
            note="generated now: sign in to /admin with it (shown only this once)",
        )
    elif settings.admin_token is None:
        log.info(
            "admin_token",
            stored_in=str(settings.home_dir / ADMIN_TOKEN_FILE),
            note="read it there, or set POSTBACK_ADMIN_TOKEN to choose your own",
        )
    log.info(
        "started", version=__version__, database="external" if embedded is None else "embedded"
    )
    try:
        yield
    finally:
        await cleanup.stop()
        await audit_retention.stop()
        await session_prune.stop()
        await anomalies.stop()
        await reports.stop()
        await notifications.stop()
        await compaction.stop()
        await sync.stop()
        await deliveries.stop()
        await sender.close()
        ingest, app.state.ingest = app.state.ingest, None
        await batcher.stop()
        await spool.stop()
        await ingest.limiter.close()
        await db.close()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        log.info("stopped")


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        app.openapi_schema = add_postback_paths(schema)
    return app.openapi_schema


def create_api(settings: Settings) -> FastAPI:
    api = FastAPI(
        title="Postback",
        version=__version__,
        description="Receive, keep and question affiliate conversion postbacks.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        debug=settings.debug,
    )
    api.state.settings = settings
    api.state.ingest = None
    install_handlers(api)
    api.include_router(web_router)
    api.include_router(system_router)
    api.include_router(conversions_router)
    api.include_router(tenants_router)
    api.include_router(forwarding_router)
    api.include_router(admin_router)
    api.include_router(forwarding_pages_router)
    api.include_router(rejections_router)
    api.include_router(rejections_pages_router)
    api.include_router(accounts_router)
    api.include_router(accounts_pages_router)
    api.include_router(oidc_router)
    api.include_router(audit_router)
    api.include_router(audit_pages_router)
    api.include_router(nlq_pages_router)
    api.include_router(nlq_router)
    api.include_router(dashboard_router)
    api.include_router(anomalies_router)
    api.include_router(alerting_router)
    api.include_router(alert_pages_router)
    api.include_router(forecasts_router)
    api.include_router(saved_questions_router)
    api.include_router(reports_router)
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    api.add_middleware(SecurityHeaders)
    if settings.json_logs and settings.gcp_project:
        api.add_middleware(TraceContext, project=settings.gcp_project)
    if settings.cors_origin_list:
        # Bearer tokens, not cookies: browsers never send credentials cross-origin.
        api.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    api.openapi = lambda: _openapi(api)  # type: ignore[method-assign]
    return api


class PostbackApp:
    """The ASGI app: postback reception goes straight to its endpoint, the rest to FastAPI."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.api = create_api(settings)
        state = self.api.state
        self.postback = PostbackEndpoint(
            lambda: state.ingest,  # the running service; None while starting or stopping
            max_body_bytes=settings.max_body_bytes,
            max_query_bytes=settings.max_query_bytes,
        )

    @property
    def state(self) -> Any:
        return self.api.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in PATHS:
            await self.postback(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def create_app(settings: Settings | None = None, *, storage: RowSink | None = None) -> PostbackApp:
    """The app. `storage` (a `RowSink`) replaces the batcher as where the ingest service sends
    conversion and rejection rows: for measuring the service without storing
    (`postback bench --stages`); never for serving, since what it takes is not kept."""
    settings = settings or get_settings()
    configure_logging(settings)
    app = PostbackApp(settings)
    app.state.storage = storage
    return app
