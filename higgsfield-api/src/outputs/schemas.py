"""A copy's states, its part of the task answer, and where each output is kept and served."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

PENDING, STORED, FAILED, EXPIRED = "pending", "stored", "failed", "expired"
OutputState = Literal["pending", "stored", "failed", "expired"]
# Each output: the task column with Higgsfield's URL, and the type it is served with (Higgsfield's
# `raw` result is an MP4, its `min` a JPEG).
KINDS = {"video": ("video_url", "video/mp4"), "thumbnail": ("thumbnail_url", "image/jpeg")}
# Where a task's outputs are served (src/outputs/router.py).
TASK_PATH = "/api/higgsfield/i2v/{task_id}"
# The task columns the answer's `output` is made of.
COLUMNS = ("output_state", "output_error", "output_bytes", "output_stored_at")


class OutputOut(BaseModel):
    state: OutputState
    error: str | None
    video_url: str | None
    thumbnail_url: str | None
    bytes: int | None
    stored_at: datetime | None


def blob_key(task_id: uuid.UUID | str, kind: str) -> str:
    return f"{task_id}.{kind}"


def shown(row: dict[str, Any]) -> dict[str, Any] | None:
    """The answer's `output` of a task row: None when no copy is made (or before it completed);
    the gateway's URLs once stored."""
    state = row["output_state"]
    if state is None:
        return None
    stored, path = state == STORED, TASK_PATH.format(task_id=row["id"])
    return {
        "state": state,
        "error": row["output_error"],
        "video_url": f"{path}/video" if stored else None,
        "thumbnail_url": f"{path}/thumbnail" if stored and row["thumbnail_url"] else None,
        "bytes": row["output_bytes"],
        "stored_at": row["output_stored_at"],
    }
