"""JSON request bodies held to strict JSON before any route reads them.

Python's parser takes NaN, Infinity and lone surrogate escapes, and fails with a RecursionError
on deep nesting; each would be a 500 or a value the service cannot answer with. This middleware
reads a JSON body (it is small: credentials, Higgsfield's webhooks), judges it with
`src.core.strict_input.loads`, and either answers a 422 in FastAPI's shape or hands the same
bytes on to the app.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src.core.strict_input import InputProblem, loads

MAX_JSON_BODY_BYTES = 1024 * 1024
METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key.lower() == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


async def _answer(send: Send, status: int, detail: object) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class StrictJsonMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_JSON_BODY_BYTES:
                await _answer(send, 413, f"A JSON body may be at most {MAX_JSON_BODY_BYTES} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            try:
                loads(body)
            except json.JSONDecodeError:
                pass  # not JSON at all: FastAPI's own 422 says where
            except InputProblem as exc:
                error = {"type": "json_invalid", "loc": ["body"], "msg": f"The JSON body {exc}"}
                await _answer(send, 422, [{**error, "input": None}])
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
