"""What every API generation adapter does: turn our intents into requests, and answers back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from src.tasks.schemas import TaskFields


@dataclass(frozen=True, slots=True)
class Submission:
    """One image-to-video job as the service asks for it, whatever the generation."""

    fields: TaskFields
    image_url: str
    motion_id: str
    webhook_url: str | None = None  # where Higgsfield calls when the job ends
    webhook_secret: str | None = None  # sent along on v1 only (v2 has no secret)


@dataclass(frozen=True, slots=True)
class JobState:
    status: str  # Higgsfield's: queued | in_progress | completed | failed | nsfw | canceled
    video_url: str | None = None
    thumbnail_url: str | None = None
    error: str | None = None  # Higgsfield's own message for a failed job, when it gives one


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    json: Any = None
    params: dict[str, str] | None = None


class Generation(ABC):
    version: ClassVar[str]

    @abstractmethod
    def headers(self, api_key: str, api_secret: str) -> dict[str, str]: ...

    @abstractmethod
    def catalog(self) -> Call | None:
        """The motion catalog's request, or None when this generation has no catalog."""

    @abstractmethod
    def submit(self, submission: Submission) -> Call: ...

    @abstractmethod
    def request_id(self, answer: Any) -> str:
        """Higgsfield's id of the job just submitted (raises UpstreamPermanent without one)."""

    @abstractmethod
    def status(self, request_id: str) -> Call: ...

    @abstractmethod
    def job_state(self, request_id: str, answer: Any) -> JobState: ...

    @abstractmethod
    def cancel(self, request_id: str) -> Call | None:
        """The cancel request, or None when this generation cannot cancel a job."""
