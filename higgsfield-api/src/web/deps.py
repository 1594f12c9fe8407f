"""The app's state and the dependencies that hand it to routers: the settings, the jobs,
Higgsfield's client and the blob store.

The lifespan (src/app_factory.py) yields an `AppState`; Starlette gives every request its own
copy, which `app_state` reads. Every dependency is `async def`: FastAPI runs a plain `def` in a
worker thread, a thread hop per request for what is a dictionary read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypedDict, cast

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


def app_state(request: Request) -> AppState:
    return cast("AppState", request.scope["state"])


async def get_settings(request: Request) -> Settings:
    return app_state(request)["settings"]


async def get_jobs(request: Request) -> Jobs:
    return app_state(request)["jobs"]


async def get_upstream(request: Request) -> Upstream:
    return app_state(request)["upstream"]


async def get_blobs(request: Request) -> BlobStore:
    return app_state(request)["blobs"]


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
UpstreamDep = Annotated["Upstream", Depends(get_upstream)]
BlobsDep = Annotated["BlobStore", Depends(get_blobs)]
