"""The app's state (yielded by the lifespan, copied into every request's scope) and the dependencies
that hand its parts to routers: `async def`, as FastAPI runs a plain `def` in a worker thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypedDict

from fastapi import Depends, Request

from src.core.config import Settings
from src.jobs.registry import Jobs

if TYPE_CHECKING:
    from src.blobs import BlobStore
    from src.upstream.client import Upstream


class AppState(TypedDict):
    settings: Settings
    jobs: Jobs
    upstream: Upstream
    blobs: BlobStore


async def get_settings(request: Request) -> Settings:
    return request.scope["state"]["settings"]


async def get_jobs(request: Request) -> Jobs:
    return request.scope["state"]["jobs"]


async def get_upstream(request: Request) -> Upstream:
    return request.scope["state"]["upstream"]


async def get_blobs(request: Request) -> BlobStore:
    return request.scope["state"]["blobs"]


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
UpstreamDep = Annotated["Upstream", Depends(get_upstream)]
BlobsDep = Annotated["BlobStore", Depends(get_blobs)]
