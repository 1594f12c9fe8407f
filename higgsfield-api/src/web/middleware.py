"""Pure ASGI middleware (no BaseHTTPMiddleware, which buffers): the upload size enforced before
reading, the form's text fields judged by their bytes (web/form_text.py), JSON bodies held to
strict JSON, and, from web/access.py, the request id, metrics and access line of every request."""

import json

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src.core.config import Settings
from src.core.strict_input import InputProblem, loads
from src.web.access import AccessMiddleware
from src.web.form_text import STATE_KEY, FormTextCheck
from src.web.upload_budget import ByteBudget

# The create route, with and without the final slash (both are served, with no redirect).
UPLOAD_PATHS = frozenset({"/api/higgsfield/i2v", "/api/higgsfield/i2v/"})
# The form's file fields: every other field is text.
FILE_FIELDS = frozenset({"image"})
# Room for the multipart framing and the text fields (prompt, metadata, callback_url) beside the image.
FORM_ALLOWANCE = 64 * 1024
MAX_JSON_BODY_BYTES = 1024 * 1024
JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(scope: Scope) -> bool:
    media = Headers(scope=scope).get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def _answer(send: Send, status: int, detail: object, *, close: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # the rest of the body is not read: the connection cannot be reused
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    """Raised from `receive` to stop the app reading a body past the limit."""


class UploadSizeLimitMiddleware:
    """413 for an upload over `max_body_bytes`: at once when Content-Length says so, and for a
    body of unknown (or untrue) length as soon as it passes the limit, whatever the app was doing."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, detail: str, budget_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.detail = detail
        self.budget = ByteBudget(budget_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        # A body of unknown length may be as large as allowed.
        size = int(length) if length.isdecimal() else self.max_body_bytes
        if size > self.max_body_bytes:
            await _answer(send, 413, self.detail, close=True)
            return
        async with self.budget.hold(size):
            await self._limited(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        too_large = False
        started = False
        text = FormTextCheck(Headers(scope=scope).get("content-type", ""), FILE_FIELDS)
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
            await _answer(send, 413, self.detail, close=True)


class StrictJsonMiddleware:
    """A JSON body judged by `strict_input.loads` before any route reads it (Python's parser takes NaN,
    Infinity, lone surrogates, and any depth): a 422 in FastAPI's shape, or the same bytes to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in JSON_METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > MAX_JSON_BODY_BYTES:
                detail = f"A JSON body may be at most {MAX_JSON_BODY_BYTES} bytes"
                await _answer(send, 413, detail, close=True)
                return
            if not message.get("more_body", False):
                break
        if body:
            try:
                loads(body)
            except json.JSONDecodeError:
                pass  # not JSON at all: FastAPI's own 422 says where
            except InputProblem as exc:
                error = {
                    "type": "json_invalid",
                    "loc": ["body"],
                    "msg": f"The JSON body {exc}",
                    "input": None,
                }
                await _answer(send, 422, [error])
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


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
