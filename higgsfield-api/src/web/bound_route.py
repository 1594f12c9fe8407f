"""Routes whose arguments are read by a small function of their own instead of FastAPI's
dependency solving: for the two reads clients make most (`GET /i2v/{id}`, `GET /i2v/`).

For every request FastAPI walks the endpoint's dependency tree: the security scheme, each
path and query parameter, each validated and gathered through generic machinery. Measured on a
task GET on MySQL (instructions per request, in-process), that was about a fifth of the whole
request. A route made with `bound_by(arguments)` keeps everything else of an `APIRoute` (its
OpenAPI operation, still made from the endpoint's signature, the error handlers, the
middleware) but calls `endpoint(**await arguments(request))`, where `arguments` reads exactly
what the signature declares and refuses what FastAPI would refuse, with FastAPI's 422 (see
`located`).

Used as `router.add_api_route(..., route_class_override=bound_by(arguments))`; tests check that
each bound route answers as FastAPI's own binding of the same endpoint does. FastAPI's
`dependency_overrides` do not reach a bound route's arguments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

Arguments = Callable[[Request], Awaitable[dict[str, Any]]]


def bound_by(arguments: Arguments) -> type[APIRoute]:
    """An APIRoute class whose requests call the endpoint with `await arguments(request)`."""

    class BoundRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
            endpoint = self.endpoint

            async def handle(request: Request) -> Response:
                return await endpoint(**await arguments(request))

            return handle

    BoundRoute.__qualname__ = f"bound_by({arguments.__qualname__})"
    return BoundRoute


def located(error: ValidationError, *loc: str | int) -> list[dict[str, Any]]:
    """A request parameter's failed check as FastAPI reports it in a 422: each of pydantic's
    errors with the parameter's place in front (e.g. "path", "task_id") and no documentation
    URL. Raise `RequestValidationError(errors)` with them."""
    return [{**e, "loc": (*loc, *e["loc"])} for e in error.errors(include_url=False)]
