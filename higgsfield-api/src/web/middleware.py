"""Pure ASGI middleware: the upload size enforced before reading, the form's text fields judged
by their bytes (web/form_text.py), and, from web/access.py, the request id, metrics and access
line of every request.

Pure ASGI (no BaseHTTPMiddleware) so that they cost a few attribute lookups per request and
never buffer a body.
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src.core.config import Settings
from src.web.access import AccessMiddleware
from src.web.form_text import STATE_KEY, FormTextCheck
from src.web.json_body import StrictJsonMiddleware
from src.web.upload_budget import ByteBudget

# The create route, with and without the final slash (both are served, with no redirect).
UPLOAD_PATHS = frozenset({"/api/higgsfield/i2v", "/api/higgsfield/i2v/"})
# The form's file fields: every other field is text.
FILE_FIELDS = frozenset({"image"})
# Room for the multipart framing and the text fields (prompt, metadata, callback_url) beside the image.
FORM_ALLOWANCE = 64 * 1024


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value
    return None


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
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        detail: str,
        budget_bytes: int,
        paths: frozenset[str] = UPLOAD_PATHS,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.detail = detail
        self.paths = paths
        self.budget = ByteBudget(budget_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            for message in _payload_too_large(self.detail):
                await send(message)
            return
        # A body of unknown length may be as large as allowed.
        size = int(length) if length is not None and length.isdigit() else self.max_body_bytes
        async with self.budget.hold(size):
            await self._limited(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        too_large = False
        started = False
        text = FormTextCheck(_header(scope, b"content-type") or b"", FILE_FIELDS)
        state = scope.setdefault("state", {})

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_body_bytes:
                    too_large = True
                    raise _BodyTooLarge
                text.feed(chunk)
                if text.problem:
                    state[STATE_KEY] = text.problem
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
    """The last one added is the outermost: the request id and the access line (metrics, log)
    cover the 413 answers too."""
    app.add_middleware(
        UploadSizeLimitMiddleware,
        max_body_bytes=settings.max_image_bytes + FORM_ALLOWANCE,
        detail=f"The request is too large: the image may be at most {settings.max_image_bytes} bytes",
        budget_bytes=settings.upload_memory_bytes,
    )
    app.add_middleware(StrictJsonMiddleware)
    app.add_middleware(AccessMiddleware, routes=app.routes)
