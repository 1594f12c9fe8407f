"""The caller's task named by the path, as a dependency."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Request, Security
from pydantic import TypeAdapter, ValidationError

from src.auth import service as auth
from src.auth.dependencies import API_KEY, ClientKey
from src.core.task_context import working_on
from src.tasks import service as tasks

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


OwnTask = Annotated[dict[str, Any] | None, Security(OwnTaskKey())]
