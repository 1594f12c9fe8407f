"""The caller's task named by the path, as a dependency."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Request, Security
from pydantic import Field, TypeAdapter, ValidationError

from src.auth import service as auth
from src.auth.dependencies import API_KEY, ClientKey
from src.core.task_context import working_on
from src.tasks import service as tasks
from src.tasks.schemas import PublicStatus

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

# The list's query parameters, checked as the route declares them (status, limit, cursor).
DEFAULT_LIMIT = 20
_STATUS = TypeAdapter(PublicStatus | None)
_LIMIT = TypeAdapter(Annotated[int, Field(ge=1, le=100)])
_CURSOR = TypeAdapter(Annotated[str, Field(max_length=512)] | None)


class OwnPageKey(ClientKey):
    """The X-API-KEY scheme, whose dependency is the page of the caller's tasks the query asks
    for: the key check and the page in one query (tasks.list_with_key).

    It runs before FastAPI validates the query, as every key check does; with a query FastAPI
    would refuse, only the key is checked (a 401 first), then FastAPI answers its 422.
    """

    async def __call__(self, request: Request) -> dict[str, Any] | None:  # type: ignore[override]
        api_key = request.headers.get(API_KEY)
        query = request.query_params
        try:
            status = _STATUS.validate_python(query.get("status"))
            limit = _LIMIT.validate_python(query.get("limit", DEFAULT_LIMIT))
            cursor = _CURSOR.validate_python(query.get("cursor"))
        except ValidationError:
            await auth.authenticate(api_key)
            return None
        return await tasks.list_with_key(api_key, status=status, limit=limit, cursor=cursor)


OwnPage = Annotated[dict[str, Any] | None, Security(OwnPageKey())]
