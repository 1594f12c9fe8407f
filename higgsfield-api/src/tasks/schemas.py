from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

PublicStatus = Literal["pending", "queued", "in_progress", "completed", "failed", "nsfw", "canceled"]


class CallbackOut(BaseModel):
    url: str
    delivered: bool
    attempts: int
    last_status: int | None
    error: str | None


class TaskOut(BaseModel):
    id: uuid.UUID
    status: PublicStatus
    prompt: str
    motion: str
    model: Literal["lite", "standard", "turbo"]
    duration: int
    metadata: dict[str, Any] | None
    video_url: str | None
    thumbnail_url: str | None
    error: str | None
    callback: CallbackOut | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


def render_task(task: dict[str, Any]) -> dict[str, Any]:
    """A task as it is answered: checked against TaskOut and written as strict JSON once, so
    that what cannot be answered fails here (a ValueError), before anything is committed."""
    answer = TaskOut.model_validate(task).model_dump(mode="json")
    json.dumps(answer, ensure_ascii=False, allow_nan=False).encode()
    return answer
