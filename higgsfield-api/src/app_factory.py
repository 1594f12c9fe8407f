"""create_app(): the FastAPI app, its routers, its error handlers and its lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from fastapi_offline import FastAPIOffline

from src import blobs
from src.auth.router import router as auth_router
from src.core.config import SANDBOX_PREFIX, Settings, reveal
from src.core.log_redaction import install_log_redaction
from src.db.orm import register_orm
from src.health.router import router as health_router
from src.jobs.context import JobContext
from src.metrics.router import router as metrics_router
from src.motions.router import router as motions_router
from src.outputs.router import router as outputs_router
from src.scheduling import build_jobs
from src.tasks.router import key_before_422
from src.tasks.router import router as tasks_router
from src.upstream.account_router import router as account_router
from src.upstream.accounts import Accounts
from src.upstream.client import upstream_timeout
from src.upstream.http_pool import ShardedHttp
from src.upstream.webhook_router import router as webhook_router
from src.web.deps import AppState
from src.web.error_handlers import register_error_handlers
from src.web.middleware import install_middleware

logger = logging.getLogger(__name__)

# Connections besides the poller's and the submitter's: the catalog refresh, a webhook check.
SPARE_CONNECTIONS = 8
DOCS_ASSETS = "/docs/assets"


def upstream_http(settings: Settings) -> ShardedHttp:
    """The one HTTP client for Higgsfield, shared by every account: room for POLL_CONCURRENCY
    job-set reads plus every account's submissions at once, all kept alive, spread over small pools."""
    timeout = upstream_timeout(settings.hf_timeout_seconds)
    connections = settings.poll_concurrency + settings.max_concurrency + SPARE_CONNECTIONS
    return ShardedHttp(connections, timeout=timeout, follow_redirects=False)


@asynccontextmanager
async def lifespan(settings: Settings) -> AsyncIterator[AppState]:
    """Opens the blob store, the ORM, the HTTP clients and the scheduler, yields them as the app's
    state (src/web/deps.py) and closes them in reverse."""
    if settings.sandbox:
        logger.warning(
            "SANDBOX MODE: neither HF_ACCOUNTS nor HF_API_KEY/HF_API_SECRET is set; tasks go to the built-in "
            "fake Higgsfield at %s. "
            "No real videos are made.",
            settings.upstream_base_url,
        )
    accounts = ", ".join(
        f"{a.name} ({a.version}, cap {a.cap}{', retired' if a.retired else ''})" for a in settings.accounts
    )
    logger.info("Higgsfield at %s with the accounts %s", settings.upstream_base_url, accounts)
    async with (
        blobs.open_store(settings) as blob_store,
        register_orm(settings),
        upstream_http(settings) as http,
        # Callbacks to clients: their own client, so they never share hf credentials or timeouts.
        httpx.AsyncClient(timeout=settings.callback_timeout_seconds, follow_redirects=False) as callback_http,
    ):
        higgsfield = Accounts.from_settings(http, settings)
        await higgsfield.prepare()
        jobs = build_jobs(JobContext(settings, higgsfield, blob_store, callbacks_http=callback_http))
        if settings.catalog_is_local:
            await jobs.catalog.run()  # before the server listens: see motions/refresh.py
        jobs.scheduler.start()
        try:
            yield AppState(settings=settings, jobs=jobs, accounts=higgsfield, blobs=blob_store)
        finally:
            # APScheduler's shutdown cancels running coroutine jobs, so first stop new runs and
            # let the ones in flight finish: a submission records its job set before we stop.
            if jobs.running:
                jobs.scheduler.pause()
            await jobs.drain()
            if jobs.running:
                jobs.scheduler.shutdown(wait=False)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # /docs and /redoc with their scripts served by the app itself (fastapi-offline): no CDN.
    app = FastAPIOffline(
        title="Higgsfield API service",
        version="1.0.0",
        description="An async gateway in front of Higgsfield's image-to-video API.",
        lifespan=lambda _app: lifespan(settings),
        static_url=DOCS_ASSETS,
        # Metrics are Prometheus' and logs JSON lines; FastAPI's OpenTelemetry would otherwise
        # look for configured providers on every request.
        telemetry=TelemetryConfig(tracing=False, metrics=False, logs=False),
    )
    install_log_redaction()
    register_error_handlers(app, before_422=key_before_422)
    install_middleware(app, settings)
    # Routes are matched in order: the task routes, which clients call most, come first.
    routers = (
        tasks_router,
        outputs_router,
        motions_router,
        auth_router,
        account_router,
        webhook_router,
        health_router,
    )
    for router in (*routers, metrics_router):
        app.include_router(router)
    # The schema and docs routes come first: a stable sort puts them after ours.
    own = {app.openapi_url, "/docs", "/redoc", app.swagger_ui_oauth2_redirect_url, DOCS_ASSETS}
    app.router.routes.sort(key=lambda route: getattr(route, "path", None) in own)
    if settings.sandbox:
        from src.sandbox.app import create_sandbox_app

        # Each sandbox account with its cap (SANDBOX_ACCOUNTS), beside the default one.
        accounts = {str(reveal(a.key)): a.cap for a in settings.accounts if settings.sandbox_accounts}
        app.mount(
            SANDBOX_PREFIX, create_sandbox_app(job_seconds=settings.sandbox_job_seconds, accounts=accounts)
        )
    return app
