"""Every call of the service as data: the request to send and how to read its answer. The sync and
async clients share all of it and only send the requests (`Call.request`) and hand the answers
back (`Call.parse`)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from higgsfield_client.errors import ERRORS_BY_STATUS, ApiError, WaitTimeout
from higgsfield_client.models import Me, Page, Task

T = TypeVar("T")

I2V = "/api/higgsfield/i2v"
ME = "/api/auth/me"
IDEMPOTENCY_KEY = "Idempotency-Key"

# What `create(image=...)` takes: a path, the bytes, or a binary file object.
ImageInput = str | os.PathLike[str] | bytes | bytearray | IO[bytes]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of httpx's `request()` (the same for httpx.Client and AsyncClient)."""
        arguments: dict[str, Any] = {"params": self.params, "headers": self.headers}
        if self.json is not None:
            arguments["json"] = self.json
        if self.files is not None:
            arguments["files"] = self.files
            arguments["data"] = self.data
        return arguments


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """A request and the reader of its successful answer; `parse` raises ApiError on any other."""

    request: Request
    read: Callable[[httpx.Response], T]

    def parse(self, response: httpx.Response) -> T:
        raise_for_error(response)
        return self.read(response)


def raise_for_error(response: httpx.Response) -> None:
    """Raises the ApiError subclass of the status, carrying the service's `detail`."""
    if response.status_code < 400:
        return
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        detail = response.text or response.reason_phrase
    error = ERRORS_BY_STATUS.get(response.status_code, ApiError)
    raise error(
        response.status_code,
        detail,
        request_id=response.headers.get("x-request-id"),
        retry_after=_seconds(response.headers.get("retry-after")),
    )


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the service sends seconds only


def _task(response: httpx.Response) -> Task:
    return Task.from_json(response.json())


def _me(response: httpx.Response) -> Me:
    return Me.from_json(response.json())


def _nothing(response: httpx.Response) -> None:
    return None


def _task_path(task: Task | str, *rest: str) -> str:
    return "/".join((I2V, quote(task_id_of(task), safe=""), *rest))


def _idempotency(key: str | None) -> dict[str, str]:
    return {IDEMPOTENCY_KEY: key} if key is not None else {}


def task_id_of(task_or_id: Task | str) -> str:
    return task_or_id.id if isinstance(task_or_id, Task) else str(task_or_id)


# --- the create form --------------------------------------------------------------------------


def form_value(value: Any) -> str:
    """A form field's text: booleans as true/false, a metadata object as JSON, the rest as str."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return str(value)


def image_part(image: ImageInput) -> tuple[str, bytes, str]:
    """(file name, bytes, content type) of the `image` field. The service judges the type by the
    bytes; the one sent here is what the bytes start with, for a tidy request."""
    if isinstance(image, bytes | bytearray):
        name, content = "image", bytes(image)
    elif isinstance(image, str | os.PathLike):
        with open(image, "rb") as file:
            name, content = os.path.basename(os.fspath(image)), file.read()
    elif hasattr(image, "read"):
        content = image.read()
        if not isinstance(content, bytes):
            raise TypeError("image: a file object must be opened in binary mode ('rb')")
        name = os.path.basename(str(getattr(image, "name", "") or "image"))
    else:
        raise TypeError(f"image: a path, bytes or a binary file object, not {type(image).__name__}")
    return name, content, _sniff(content)


def _sniff(content: bytes) -> str:
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def create(image: ImageInput, fields: Mapping[str, Any], idempotency_key: str | None) -> Call[Task]:
    """POST /api/higgsfield/i2v/: multipart, `image` and the form's text fields (None: not sent)."""
    data = {name: form_value(value) for name, value in fields.items() if value is not None}
    request = Request(
        "POST",
        I2V + "/",
        headers=_idempotency(idempotency_key),
        data=data,
        files={"image": image_part(image)},
    )
    return Call(request, _task)


def get(task: Task | str) -> Call[Task]:
    return Call(Request("GET", _task_path(task)), _task)


def list_page(status: str | None, limit: int | None, cursor: str | None) -> Call[Page]:
    pairs = (("status", status), ("limit", limit), ("cursor", cursor))
    params = {name: value for name, value in pairs if value is not None}
    return Call(Request("GET", I2V + "/", params=params), lambda response: Page.from_json(response.json()))


def cancel(task: Task | str) -> Call[Task]:
    return Call(Request("POST", _task_path(task, "cancel")), _task)


def retry(task: Task | str, overrides: Mapping[str, Any], idempotency_key: str | None) -> Call[Task]:
    """POST .../{id}/retry: a JSON body of the overridden fields (metadata as an object)."""
    body = {name: value for name, value in overrides.items() if value is not None}
    request = Request("POST", _task_path(task, "retry"), headers=_idempotency(idempotency_key), json=body)
    return Call(request, _task)


def me() -> Call[Me]:
    return Call(Request("GET", ME), _me)


def set_callback(url: str) -> Call[Me]:
    return Call(Request("PUT", ME + "/callback", json={"url": url}), _me)


def clear_callback() -> Call[None]:
    return Call(Request("DELETE", ME + "/callback"), _nothing)


# --- waiting ----------------------------------------------------------------------------------


class Waiting:
    """The pauses of `wait()` between reads of a task: `initial` seconds, times `factor` after each
    read, at most `maximum`, never past `timeout` seconds from the start."""

    def __init__(self, timeout: float, *, initial: float, maximum: float, factor: float = 2.0) -> None:
        if timeout < 0 or initial <= 0 or maximum < initial or factor < 1:
            raise ValueError("wait: needs timeout >= 0, 0 < initial_interval <= max_interval")
        self.timeout = timeout
        self._deadline = time.monotonic() + timeout
        self._next = initial
        self._maximum = maximum
        self._factor = factor

    def pause_after(self, task: Task) -> float | None:
        """None once `task` has ended; else the seconds to sleep before reading it again. Raises
        WaitTimeout when the time is up."""
        if task.done:
            return None
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeout(task, self.timeout)
        pause = min(self._next, left)
        self._next = min(self._next * self._factor, self._maximum)
        return pause
