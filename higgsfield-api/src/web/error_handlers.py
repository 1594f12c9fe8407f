"""The one place where domain errors (and unexpected ones) become HTTP answers."""

import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from src.core.errors import DomainError, InvalidField
from src.core.strict_input import text_problem

logger = logging.getLogger(__name__)

# A 422 shows at most this much of what was sent: a 100 KB prompt must not come back as a 100 KB error.
ECHO_MAX_CHARS = 100
ECHO_MAX_ITEMS = 20
ECHO_MAX_DEPTH = 3
CUT = "…"


def _domain_answer(request: Request, exc: DomainError) -> JSONResponse:
    if isinstance(exc, InvalidField):
        loc = ["query" if exc.field in request.query_params else "body", exc.field]
        detail: object = [{"type": exc.kind, "loc": loc, "msg": exc.detail, "input": None}]
    else:
        detail = exc.detail
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


def short_echo(value: Any, depth: int = 0) -> Any:
    """The `input` of a validation error, cut down (the whole body is the input of a missing field);
    what JSON cannot carry (a lone surrogate, NaN, an uploaded file) is not echoed."""
    if isinstance(value, str):
        if text_problem(value):
            return None
        return value if len(value) <= ECHO_MAX_CHARS else value[:ECHO_MAX_CHARS] + CUT
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict | list | tuple) and depth >= ECHO_MAX_DEPTH:
        return CUT
    if isinstance(value, dict):
        items = list(value.items())
        return {(short_echo(str(k)) or "?"): short_echo(v, depth + 1) for k, v in items[:ECHO_MAX_ITEMS]}
    if isinstance(value, list | tuple):
        return [short_echo(v, depth + 1) for v in value[:ECHO_MAX_ITEMS]]
    return value if isinstance(value, bool | int) else None


def _answerable(error: dict[str, Any]) -> dict[str, Any]:
    return {**error, "input": short_echo(error["input"])} if "input" in error else error


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A bug or an outage: the same bland 500 always, never a traceback or an SQL fragment.
    Starlette runs this outside every middleware: the request id is read from the scope."""
    request_id = request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex
    logger.error("Unexpected %s in request %s", type(exc).__name__, request_id)
    body = {"detail": "Internal Server Error", "request_id": request_id}
    return JSONResponse(body, status_code=500, headers={"X-Request-ID": request_id})


def register_error_handlers(app: FastAPI, before_422: Callable[[Request], Awaitable[None]]) -> None:
    """Every 422, FastAPI's (in its list shape, each `input` cut down by `short_echo`) or an
    InvalidField, is answered only after `before_422`, which may answer with a domain error
    instead (a route's own key check: a bad key is a 401 before any 422)."""

    async def key_first(request: Request) -> JSONResponse | None:
        try:
            await before_422(request)
        except DomainError as error:
            return _domain_answer(request, error)
        return None

    async def on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
        if isinstance(exc, InvalidField) and (first := await key_first(request)):
            return first
        return _domain_answer(request, exc)

    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if first := await key_first(request):
            return first
        errors = jsonable_encoder([_answerable(error) for error in exc.errors()])
        return JSONResponse({"detail": errors}, status_code=422)

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, unexpected_error_handler)
