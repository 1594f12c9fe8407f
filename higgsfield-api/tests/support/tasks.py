"""A new task as the form would hand it to the service: for tests that store tasks directly."""

from __future__ import annotations

import uuid

from src.blobs import BlobStore
from src.db.models import TaskImage
from src.tasks.schemas import TaskFields
from src.tasks.service import NewTask
from tests.support.images import png


def new_task(prompt: str = "") -> NewTask:
    """A small PNG, the default motion, model and duration, no callback."""
    return NewTask(TaskFields(prompt=prompt), png(), "image/png")


async def has_image(blobs: BlobStore, task_id: str | uuid.UUID) -> bool:
    """Whether the task's image is still stored (in the blob store, or a pre-0005 row)."""
    if await blobs.get(str(task_id)) is not None:
        return True
    return await TaskImage.filter(task_id=task_id).exists()


async def image_dropped(blobs: BlobStore, task_id: str | uuid.UUID) -> bool:
    """For `eventually`: a transition makes the status visible a moment before it deletes the image."""
    return not await has_image(blobs, task_id)
