"""What the API generation adapters (`Generation`) deal in: our intents, their requests, the answers."""

from dataclasses import dataclass
from typing import Any

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
