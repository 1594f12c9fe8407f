"""The id of the request being served, for log lines written anywhere below the endpoints."""

import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import Headers
from starlette.types import Scope

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

# Set by the access middleware for the duration of one request.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)


def request_id_for(scope: Scope) -> str:
    """The caller's X-Request-ID when it is short and plain (it ends up in logs and headers),
    else a fresh one."""
    candidate = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
    return candidate if _SANE_REQUEST_ID.fullmatch(candidate) else uuid.uuid4().hex
