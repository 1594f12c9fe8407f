"""`Client` (sync) and `AsyncClient` (async): the same methods, each a call of `calls` sent over
httpx. Everything else (requests, answers, errors, the wait's pauses) lives in `calls`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from higgsfield_client import calls
from higgsfield_client.calls import Call, ImageInput
from higgsfield_client.models import Me, Page, Task

T = TypeVar("T")

USER_AGENT = "higgsfield-client/0.1"
DEFAULT_TIMEOUT = 30.0
# wait(): the pauses between reads start at INITIAL_INTERVAL seconds and double up to MAX_INTERVAL.
WAIT_TIMEOUT = 600.0
INITIAL_INTERVAL = 1.0
MAX_INTERVAL = 15.0


def _http_options(base_url: str, api_key: str, timeout: float | httpx.Timeout) -> dict[str, Any]:
    if not api_key:
        raise ValueError("api_key is required (POST /api/auth/login issues one)")
    return {
        "base_url": base_url.rstrip("/"),
        "headers": {"X-API-KEY": api_key, "User-Agent": USER_AGENT},
        "timeout": timeout,
    }


def _form(prompt: Any, motion: Any, model: Any, duration: Any, fields: dict[str, Any]) -> dict[str, Any]:
    return {"prompt": prompt, "motion": motion, "model": model, "duration": duration, **fields}


class Client:
    """The service's API, synchronously. Use it in a `with` block (or call `close()`); each method
    that takes a task takes the `Task` or its id."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(transport=transport, **_http_options(base_url, api_key, timeout))

    def _send(self, call: Call[T]) -> T:
        request = call.request
        return call.parse(self._http.request(request.method, request.path, **request.arguments()))

    def create(
        self,
        image: ImageInput,
        prompt: str | None = None,
        motion: str | None = None,
        model: str | None = None,
        duration: int | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Task:
        """Creates a task from an image (a path, bytes or a binary file object) and the form's
        fields (`seed`, `motion_strength`, `enhance_prompt`, `metadata`, `callback_url`, ...)."""
        form = _form(prompt, motion, model, duration, fields)
        return self._send(calls.create(image, form, idempotency_key))

    def get(self, task: Task | str) -> Task:
        return self._send(calls.get(task))

    def page(self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None) -> Page:
        """One page of your tasks, newest first."""
        return self._send(calls.list_page(status, limit, cursor))

    def list(self, *, status: str | None = None, limit: int | None = None) -> Iterator[Task]:
        """Every one of your tasks (with `status`, those only), newest first, reading one page of
        `limit` tasks at a time."""
        cursor = None
        while True:
            page = self.page(status=status, limit=limit, cursor=cursor)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def cancel(self, task: Task | str) -> Task:
        return self._send(calls.cancel(task))

    def retry(self, task: Task | str, *, idempotency_key: str | None = None, **overrides: Any) -> Task:
        """A new task from an ended one's fields and image, with `overrides` of its text fields."""
        return self._send(calls.retry(task, overrides, idempotency_key))

    def wait(
        self,
        task_or_id: Task | str,
        timeout: float = WAIT_TIMEOUT,
        *,
        initial_interval: float = INITIAL_INTERVAL,
        max_interval: float = MAX_INTERVAL,
    ) -> Task:
        """Reads the task until it ends and returns it; the pauses grow from `initial_interval` to
        `max_interval` seconds. Raises WaitTimeout (a TimeoutError) after `timeout` seconds."""
        waiting = calls.Waiting(timeout, initial=initial_interval, maximum=max_interval)
        while (pause := waiting.pause_after(task := self.get(task_or_id))) is not None:
            time.sleep(pause)
        return task

    def me(self) -> Me:
        return self._send(calls.me())

    def set_callback(self, url: str) -> Me:
        """Sets the default callback URL of tasks created without `callback_url`."""
        return self._send(calls.set_callback(url))

    def clear_callback(self) -> None:
        self._send(calls.clear_callback())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient:
    """The service's API, for asyncio: the methods of `Client`, awaited (`list` is iterated with
    `async for`). Use it in an `async with` block (or call `aclose()`)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(transport=transport, **_http_options(base_url, api_key, timeout))

    async def _send(self, call: Call[T]) -> T:
        request = call.request
        return call.parse(await self._http.request(request.method, request.path, **request.arguments()))

    async def create(
        self,
        image: ImageInput,
        prompt: str | None = None,
        motion: str | None = None,
        model: str | None = None,
        duration: int | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Task:
        """See Client.create. A path or a file object is read before the request is sent."""
        form = _form(prompt, motion, model, duration, fields)
        return await self._send(calls.create(image, form, idempotency_key))

    async def get(self, task: Task | str) -> Task:
        return await self._send(calls.get(task))

    async def page(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page:
        return await self._send(calls.list_page(status, limit, cursor))

    async def list(self, *, status: str | None = None, limit: int | None = None) -> AsyncIterator[Task]:
        cursor = None
        while True:
            page = await self.page(status=status, limit=limit, cursor=cursor)
            for task in page.items:
                yield task
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def cancel(self, task: Task | str) -> Task:
        return await self._send(calls.cancel(task))

    async def retry(self, task: Task | str, *, idempotency_key: str | None = None, **overrides: Any) -> Task:
        return await self._send(calls.retry(task, overrides, idempotency_key))

    async def wait(
        self,
        task_or_id: Task | str,
        # The same call as Client.wait; asyncio.timeout() around it would lose the last state read.
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109
        *,
        initial_interval: float = INITIAL_INTERVAL,
        max_interval: float = MAX_INTERVAL,
    ) -> Task:
        waiting = calls.Waiting(timeout, initial=initial_interval, maximum=max_interval)
        # Polling the service: there is no local event to wait on.
        while (pause := waiting.pause_after(task := await self.get(task_or_id))) is not None:  # noqa: ASYNC110
            await asyncio.sleep(pause)
        return task

    async def me(self) -> Me:
        return await self._send(calls.me())

    async def set_callback(self, url: str) -> Me:
        return await self._send(calls.set_callback(url))

    async def clear_callback(self) -> None:
        await self._send(calls.clear_callback())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
