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

# Distinct scheme names: both would otherwise be "APIKeyHeader" in OpenAPI, and one would hide the other.
api_key_header = APIKeyHeader(
    name="X-API-KEY", scheme_name="ApiKey", auto_error=False, description="A client's API key"
)
admin_token_header = APIKeyHeader(
    name="X-ADMIN-TOKEN", scheme_name="AdminToken", auto_error=False, description="The admin token"
)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_jobs(request: Request) -> Jobs:
    return request.app.state.jobs


async def get_current_client_id(api_key: Annotated[str | None, Security(api_key_header)]) -> uuid.UUID:
    return await auth.authenticate(api_key)


_TASK_ID = TypeAdapter(uuid.UUID)  # what FastAPI checks the `{task_id}` path parameter with


async def get_own_task(
    request: Request, api_key: Annotated[str | None, Security(api_key_header)]
) -> dict[str, Any] | None:
    """The caller's task named by the path: key check and task in one query (tasks.get_with_key).

    A dependency, so that it runs where the key check of every other route runs: before
    FastAPI validates the path. A malformed id is checked against the key only (a 401 first),
    then FastAPI answers its 422 for the path.
    """
    try:
        task_id = _TASK_ID.validate_python(request.path_params["task_id"])
    except ValidationError:
        await auth.authenticate(api_key)
        return None
    working_on(task_id)
    return await tasks.get_with_key(api_key, task_id)


def require_admin(
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
CurrentClientId = Annotated[uuid.UUID, Depends(get_current_client_id)]
OwnTask = Annotated[dict[str, Any] | None, Depends(get_own_task)]
AdminToken = Depends(require_admin)
