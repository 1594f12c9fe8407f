"""The service's answers as typed objects. Each keeps the JSON it was read from in `raw`, so a field
the service adds later is there before this package names it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

TaskStatus = Literal["pending", "queued", "in_progress", "completed", "failed", "nsfw", "canceled"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "nsfw", "canceled"})


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class CallbackState:
    """The delivery of a task's callback."""

    url: str
    delivered: bool
    attempts: int
    last_status: int | None
    error: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallbackState:
        return cls(
            data["url"], data["delivered"], data["attempts"], data.get("last_status"), data.get("error")
        )


@dataclass(frozen=True, slots=True)
class Output:
    """The gateway's own copy of a completed task's video and thumbnail. `video_url` and
    `thumbnail_url` are paths on the service (set while `state` is `stored`)."""

    state: Literal["pending", "stored", "failed", "expired"]
    error: str | None
    video_url: str | None
    thumbnail_url: str | None
    bytes: int | None
    stored_at: datetime | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Output:
        return cls(
            data["state"],
            data.get("error"),
            data.get("video_url"),
            data.get("thumbnail_url"),
            data.get("bytes"),
            _when(data.get("stored_at")),
        )


@dataclass(frozen=True, slots=True)
class Task:
    """An image-to-video task. `video_url` and `thumbnail_url` are Higgsfield's (about 7 days);
    `output` is the gateway's copy."""

    id: str
    status: TaskStatus
    prompt: str
    motion: str
    model: str
    duration: int
    metadata: dict[str, Any] | None
    video_url: str | None
    thumbnail_url: str | None
    error: str | None
    callback: CallbackState | None
    output: Output | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    retry_of: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def done(self) -> bool:
        """Whether the task has its final status (`completed`, `failed`, `nsfw` or `canceled`)."""
        return self.status in FINAL_STATUSES

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        callback, output = data.get("callback"), data.get("output")
        return cls(
            id=data["id"],
            status=data["status"],
            prompt=data.get("prompt", ""),
            motion=data.get("motion", ""),
            model=data.get("model", ""),
            duration=data.get("duration", 0),
            metadata=data.get("metadata"),
            video_url=data.get("video_url"),
            thumbnail_url=data.get("thumbnail_url"),
            error=data.get("error"),
            callback=CallbackState.from_json(callback) if callback else None,
            output=Output.from_json(output) if output else None,
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            completed_at=_when(data.get("completed_at")),
            retry_of=data.get("retry_of"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Page:
    """One page of `GET /api/higgsfield/i2v/`: the tasks, newest first, and the cursor of the next
    page (None on the last)."""

    items: list[Task]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Page:
        return cls([Task.from_json(item) for item in data["items"]], data.get("next_cursor"))


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The client's create rate limit: how many per minute, how many are left, and in how many
    seconds the oldest counted creation leaves the window."""

    per_minute: int
    remaining: int
    resets_in_seconds: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RateLimit:
        return cls(data["per_minute"], data["remaining"], data["resets_in_seconds"])


@dataclass(frozen=True, slots=True)
class Me:
    """Who the API key belongs to (`GET /api/auth/me`). Never a secret."""

    client_id: str
    login: str
    created_at: datetime
    callback_url: str | None
    key_issued_at: datetime
    rate_limit: RateLimit
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Me:
        return cls(
            client_id=data["client_id"],
            login=data["login"],
            created_at=datetime.fromisoformat(data["created_at"]),
            callback_url=data.get("callback_url"),
            key_issued_at=datetime.fromisoformat(data["key_issued_at"]),
            rate_limit=RateLimit.from_json(data["rate_limit"]),
            raw=data,
        )
