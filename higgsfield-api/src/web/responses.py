"""The documented error answers of the API, for the `responses=` of each route: every answer a
route can give is in its OpenAPI entry with the body it really has."""

from typing import Any

from pydantic import BaseModel

Responses = dict[int | str, dict[str, Any]]

RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
}


class ErrorOut(BaseModel):
    """Every error but 422: `{"detail": "<what went wrong>"}`."""

    detail: str


def error(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {"model": ErrorOut, "description": description}
    if retry_after:
        answer["headers"] = RETRY_AFTER
    return answer


API_KEY_REQUIRED: Responses = {401: error("Missing, unknown or revoked API key")}
ADMIN_REQUIRED: Responses = {
    401: error("Missing or wrong admin token"),
    503: error("ADMIN_TOKEN is not configured: admin calls are disabled"),
}
# FastAPI's own answer to a body it cannot parse at all (bytes that are not UTF-8 JSON, broken multipart).
UNPARSABLE_BODY: Responses = {400: error("The body could not be parsed")}
NOT_FOUND = error("Not found (also another client's task)")
RATE_LIMITED = error("Too many task creations this minute", retry_after=True)
