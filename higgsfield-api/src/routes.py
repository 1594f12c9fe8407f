"""Mounts every router of the service."""

from fastapi import FastAPI

from src.auth.router import router as auth_router
from src.health.router import router as health_router
from src.metrics.router import router as metrics_router
from src.motions.router import router as motions_router
from src.tasks.router import router as higgsfield_router
from src.upstream.webhook_router import router as webhook_router


def include_routers(app: FastAPI) -> None:
    # Routes are matched in order: the task routes, which clients call most, come first.
    app.include_router(higgsfield_router)
    app.include_router(motions_router)
    app.include_router(auth_router)
    app.include_router(webhook_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    # FastAPI adds its own routes (/openapi.json, /docs, /redoc) first: every request would be
    # matched against them before ours. A stable sort puts them last, the rest in order.
    own = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.router.routes.sort(key=lambda route: getattr(route, "path", None) in own)
