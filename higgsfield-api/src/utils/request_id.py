"""The id of the request being served, for log lines written anywhere below the endpoints."""

from __future__ import annotations

from contextvars import ContextVar

# Set by the request-id middleware for the duration of one request; None outside requests.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)
