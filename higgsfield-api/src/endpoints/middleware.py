"""Pure ASGI middleware: an id for every request, and the upload size enforced before reading.

Pure ASGI (no BaseHTTPMiddleware) so that they cost a few attribute lookups per request and
never buffer a body.
"""

from __future__ import annotations

import json
import re
import uuid

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src.config import Settings
from src.utils.request_id import current_request_id

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# The create route, with and without the final slash (both are served, with no redirect).
UPLOAD_PATHS = frozenset({"/api/higgsfield/i2v", "/api/higgsfield/i2v/"})
# Room for the multipart framing and the text fields (prompt, metadata, callback_url) beside the image.
FORM_ALLOWANCE = 64 * 1024


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value
    return None


def _incoming_request_id(scope: Scope) -> str | None:
    """The caller's id when it is short and plain (it ends up in logs and headers), else None."""
    raw = _header(scope, b"x-request-id")
    if raw is None:
        return None
    value = raw.decode("latin-1")
    return value if _SANE_REQUEST_ID.fullmatch(value) else None


class RequestIdMiddleware:
    """Takes a sane X-Request-ID or makes one; puts it in request.state, the log context and
    the answer's X-Request-ID header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        # The same scope dict reaches the 500 handler, which answers outside this middleware.
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        token = current_request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)


class _BodyTooLarge(Exception):
    """Raised from `receive` to stop the app reading a body past the limit."""


def _payload_too_large(detail: str) -> tuple[Message, Message]:
    body = json.dumps({"detail": detail}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # The rest of the body is not read: the connection cannot be reused.
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class UploadSizeLimitMiddleware:
    """413 for an upload over `max_body_bytes`: at once when Content-Length says so, and for a
    body of unknown (or untrue) length as soon as it passes the limit, whatever the app was doing."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, detail: str, paths: frozenset[str] = UPLOAD_PATHS
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.detail = detail
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            for message in _payload_too_large(self.detail):
                await send(message)
            return

        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return  # the app's answer to a body cut off under it is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # The app may let _BodyTooLarge through, or wrap it in an error of its own.
            if not too_large:
                raise
        if too_large and not started:
            for message in _payload_too_large(self.detail):
                await send(message)


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """The last one added is the outermost: the request id covers the 413 answers too."""
    app.add_middleware(
        UploadSizeLimitMiddleware,
        max_body_bytes=settings.max_image_bytes + FORM_ALLOWANCE,
        detail=f"The request is too large: the image may be at most {settings.max_image_bytes} bytes",
    )
    app.add_middleware(RequestIdMiddleware)
