"""Dependencies named by role: the settings, the calling client, the admin."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from pydantic import TypeAdapter, ValidationError

from src.config import Settings
from src.errors import ServiceUnavailable, Unauthorized
from src.schedulers.setup import Jobs
from src.services import auth, tasks
from src.services.security import same_secret
from src.utils.task_context import working_on

API_KEY = "X-API-KEY"
# One "ApiKey" scheme in OpenAPI, whichever of the classes below a route depends on.
API_KEY_SCHEME: dict[str, Any] = {
    "name": API_KEY,
    "scheme_name": "ApiKey",
    "auto_error": False,
    "description": "A client's API key",
}


class ClientKey(APIKeyHeader):
    """The X-API-KEY scheme, whose dependency is the authenticated client's id.

    The key check is the scheme's own call: as a separate dependency under the header's, it
    would cost FastAPI a second round of dependency solving on every call.
    """

    def __init__(self) -> None:
        super().__init__(**API_KEY_SCHEME)

    async def __call__(self, request: Request) -> uuid.UUID:  # type: ignore[override]
        return await auth.authenticate(request.headers.get(API_KEY))


_TASK_ID = TypeAdapter(uuid.UUID)  # what FastAPI checks the `{task_id}` path parameter with


class OwnTaskKey(ClientKey):
    """The X-API-KEY scheme, whose dependency is the caller's task named by the path: the key
    check and the task in one query (tasks.get_with_key).

    It runs where the key check of every other route runs: before FastAPI validates the path.
    A malformed id is checked against the key only (a 401 first), then FastAPI answers its 422
    for the path.
    """

    async def __call__(self, request: Request) -> dict[str, Any] | None:  # type: ignore[override]
        api_key = request.headers.get(API_KEY)
        try:
            task_id = _TASK_ID.validate_python(request.path_params["task_id"])
        except ValidationError:
            await auth.authenticate(api_key)
            return None
        working_on(task_id)
        return await tasks.get_with_key(api_key, task_id)


# Distinct scheme names: both would otherwise be "APIKeyHeader" in OpenAPI, and one would hide the other.
api_key_header = APIKeyHeader(**API_KEY_SCHEME)
admin_token_header = APIKeyHeader(
    name="X-ADMIN-TOKEN", scheme_name="AdminToken", auto_error=False, description="The admin token"
)


# Every dependency is `async def`: FastAPI runs a plain `def` in a worker thread, a thread
# hop per request for what is an attribute read.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_jobs(request: Request) -> Jobs:
    return request.app.state.jobs


async def require_admin(
    settings: Annotated[Settings, Depends(get_settings)],
    token: Annotated[str | None, Security(admin_token_header)],
) -> None:
    if not settings.admin_token:
        raise ServiceUnavailable("Admin calls are disabled: ADMIN_TOKEN is not configured")
    if not same_secret(token, settings.admin_token):
        raise Unauthorized("Missing or invalid admin token")


SettingsDep = Annotated[Settings, Depends(get_settings)]
ApiKeyHeader = Annotated[str | None, Security(api_key_header)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
CurrentClientId = Annotated[uuid.UUID, Security(ClientKey())]
OwnTask = Annotated[dict[str, Any] | None, Security(OwnTaskKey())]
AdminToken = Depends(require_admin)
