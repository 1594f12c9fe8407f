"""Task answers encoded once, straight to JSON bytes.

FastAPI would validate the returned dicts against TaskOut / TaskPage and then serialize
them; the services already return exactly that shape, so the hot GET routes encode with
pydantic-core (the same encoder FastAPI uses, so the bytes are the same) and return a
Response. The routes keep `response_model` for the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic_core import to_json

from src.endpoints.higgsfield.schemas import TaskOut

# TaskOut's fields in its order: the answer's keys come out as FastAPI would write them.
TASK_FIELDS = tuple(TaskOut.model_fields)


def _ordered(task: dict[str, Any]) -> dict[str, Any]:
    return {field: task[field] for field in TASK_FIELDS}


def task_response(task: dict[str, Any]) -> Response:
    return Response(to_json(_ordered(task)), media_type="application/json")


def page_response(page: dict[str, Any]) -> Response:
    body = {"items": [_ordered(task) for task in page["items"]], "next_cursor": page["next_cursor"]}
    return Response(to_json(body), media_type="application/json")
