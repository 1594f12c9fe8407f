from __future__ import annotations

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
