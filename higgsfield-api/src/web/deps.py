"""Dependencies every router may take: the settings, the jobs, Higgsfield's client.

Every dependency is `async def`: FastAPI runs a plain `def` in a worker thread, a thread hop
per request for what is an attribute read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from src.core.config import Settings
from src.jobs.registry import Jobs

if TYPE_CHECKING:
    from src.upstream.client import Upstream


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_jobs(request: Request) -> Jobs:
    return request.app.state.jobs


async def get_upstream(request: Request) -> Upstream:
    return request.app.state.upstream


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
UpstreamDep = Annotated["Upstream", Depends(get_upstream)]
