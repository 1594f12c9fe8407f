"""A client's webhook receiver for the callback tests, served over real HTTP by `LoopbackServer`.

It records every request and answers from a script a test sets: statuses (with headers,
e.g. a redirect's Location) or a hang longer than the service's timeout, then a default.

    receiver = Receiver()
    with LoopbackServer(receiver.app) as server:
        receiver.url = server.url
        receiver.answer(Answer(500), Answer(500), then=Answer(200))
        ...  # a task with callback_url=receiver.hook_url
        assert len(receiver.hits()) == 3
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOOK_PATH = "/hook"


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang_seconds: float = 0.0


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers POSTs to `HOOK_PATH` from the script, any other path with 200; one lock guards
    the state, as the server runs in another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.url = ""
        self.reset()
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])

    def reset(self) -> None:
        with self._lock:
            self._hits: list[Hit] = []
            self._script: list[Answer] = []
            self._default = Answer(200)

    @property
    def hook_url(self) -> str:
        return self.url + HOOK_PATH

    def answer(self, *answers: Answer, then: Answer | None = None) -> None:
        """The next answers of the hook, in order; `then` from there on (200 unless given)."""
        with self._lock:
            self._script = list(answers)
            self._default = then or Answer(200)

    def hits(self, path: str = HOOK_PATH) -> list[Hit]:
        with self._lock:
            return [hit for hit in self._hits if hit.path == path]

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self._hits.append(Hit(request.url.path, dict(request.headers), body))
            if request.url.path != HOOK_PATH:
                answer = Answer(200)
            else:
                answer = self._script.pop(0) if self._script else self._default
        if answer.hang_seconds:
            await asyncio.sleep(answer.hang_seconds)
        return Response(status_code=answer.status, headers=answer.headers)
