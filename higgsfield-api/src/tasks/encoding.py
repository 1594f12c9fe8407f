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


def json_response(body: dict[str, Any]) -> Response:
    """A task or a page of tasks, as built by the services, written out as it is."""
    return Response(to_json(body), media_type="application/json")
