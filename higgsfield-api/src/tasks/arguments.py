"""The arguments of the two reads clients make most, read from the request itself (see
web/bound_route.py): the task GET's and the list's. Their types are declared here once, for
the endpoints' signatures (OpenAPI, docs) and for these readers alike.

As on every route, a request with a missing or bad key is a 401 before any 422: a parameter
that fails its check is answered only after the key has been checked.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from src.auth import service as auth
from src.auth.dependencies import API_KEY
from src.tasks.schemas import PublicStatus
from src.web.bound_route import located

DEFAULT_LIMIT = 20
StatusQuery = Annotated[PublicStatus | None, Query(alias="status")]
LimitQuery = Annotated[int, Query(ge=1, le=100)]
CursorQuery = Annotated[str | None, Query(max_length=512)]

_TASK_ID = TypeAdapter(uuid.UUID)
# The list's query parameters: name in the query, argument, check, value when absent.
_PAGE_QUERY = (
    ("status", "status_", TypeAdapter(StatusQuery), None),
    ("limit", "limit", TypeAdapter(LimitQuery), DEFAULT_LIMIT),
    ("cursor", "cursor", TypeAdapter(CursorQuery), None),
)


async def _refuse(api_key: str | None, errors: list[dict[str, Any]]) -> RequestValidationError:
    await auth.authenticate(api_key)  # raises the 401 for a missing or bad key
    return RequestValidationError(errors)


async def task_arguments(request: Request) -> dict[str, Any]:
    """`get_task`'s: the `{task_id}` of the path (a UUID) and the API key."""
    api_key = request.headers.get(API_KEY)
    try:
        task_id = _TASK_ID.validate_python(request.path_params["task_id"])
    except ValidationError as error:
        raise await _refuse(api_key, located(error, "path", "task_id")) from None
    return {"task_id": task_id, "api_key": api_key}


async def page_arguments(request: Request) -> dict[str, Any]:
    """`list_tasks`': `status`, `limit` and `cursor` from the query, and the API key."""
    api_key = request.headers.get(API_KEY)
    query = request.query_params
    arguments: dict[str, Any] = {"api_key": api_key}
    errors: list[dict[str, Any]] = []
    for name, argument, check, default in _PAGE_QUERY:
        value = query.get(name)
        if value is None:
            arguments[argument] = default
            continue
        try:
            arguments[argument] = check.validate_python(value)
        except ValidationError as error:
            errors += located(error, "query", name)
    if errors:
        raise await _refuse(api_key, errors)
    return arguments
