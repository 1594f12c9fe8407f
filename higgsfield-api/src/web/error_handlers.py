"""The one place where domain errors (and unexpected ones) become HTTP answers."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from src.core.errors import DomainError, InvalidField

logger = logging.getLogger(__name__)


def field_location(request: Request, field: str) -> list[str]:
    """Where a field of the request was: a query parameter, else the body (form or JSON)."""
    return ["query" if field in request.query_params else "body", field]


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)  # noqa: S101 - registered for DomainError only
    if isinstance(exc, InvalidField):
        loc = field_location(request, exc.field)
        detail: object = [{"type": exc.kind, "loc": loc, "msg": exc.detail, "input": None}]
    else:
        detail = exc.detail
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A bug or an outage: the same bland 500 always, never a traceback or an SQL fragment.

    Starlette runs this outside every middleware, so the request id is read from the scope the
    request-id middleware wrote it to. The server logs the traceback itself after this answer.
    """
    request_id = request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex
    logger.error("Unexpected %s in request %s", type(exc).__name__, request_id)
    return JSONResponse(
        {"detail": "Internal Server Error", "request_id": request_id},
        status_code=500,
        headers={"X-Request-ID": request_id},
    )


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
