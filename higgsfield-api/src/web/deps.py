"""The app's state (yielded by the lifespan, copied into every request's scope) and the dependencies
that hand its parts to routers: `async def`, as FastAPI runs a plain `def` in a worker thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from fastapi import Depends, Request

from src.core.config import Settings
from src.jobs.registry import Jobs

if TYPE_CHECKING:
    from src.blobs import BlobStore
    from src.upstream.accounts import Accounts


class AppState(TypedDict):
    settings: Settings
    jobs: Jobs
    accounts: Accounts
    blobs: BlobStore


def _state_part(name: str) -> Any:
    async def get(request: Request) -> Any:
        return request.scope["state"][name]

    return Depends(get)


SettingsDep = Annotated[Settings, _state_part("settings")]
JobsDep = Annotated[Jobs, _state_part("jobs")]
AccountsDep = Annotated["Accounts", _state_part("accounts")]
BlobsDep = Annotated["BlobStore", _state_part("blobs")]
