"""Task answers encoded once, straight to JSON bytes.

FastAPI would validate the returned dicts against TaskOut / TaskPage and then serialize
them; the services already return exactly that shape, keys in the schema's order (see
`tasks.public`), so the hot GET routes encode with pydantic-core (the same encoder FastAPI
uses, so the bytes are the same) and return a Response. The routes keep `response_model` for
the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic_core import to_json


def task_response(task: dict[str, Any]) -> Response:
    return Response(to_json(task), media_type="application/json")


def page_response(page: dict[str, Any]) -> Response:
    return Response(to_json(page), media_type="application/json")
