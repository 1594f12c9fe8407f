"""A task's image in the blob store, under the task's id, from the create until Higgsfield has it.
A blob left without a row by a crashed create is swept once older than BLOB_ORPHAN_GRACE. Tasks
stored before migration 0006 have no key: their image is read from (and dropped in) task_images."""

import uuid
from collections.abc import Iterable
from datetime import datetime

from src.blobs import BlobStore
from src.blobs.store import TEMP_PREFIX
from src.db.models import Task, TaskImage, TaskStatus

# The statuses in which a task still needs its image: not sent yet, or being sent now.
NEEDS_IMAGE = (TaskStatus.PENDING, TaskStatus.SUBMITTING)
SWEEP_CHUNK = 500


def key_for(task_id: uuid.UUID) -> str:
    return str(task_id)


async def save(store: BlobStore, task_id: uuid.UUID, data: bytes) -> str:
    key = key_for(task_id)
    await store.put(key, data)
    return key


async def load(store: BlobStore, task: Task) -> tuple[bytes, str] | None:
    """(bytes, content type) of a task's image; None when it is gone (the task was canceled)."""
    if task.image_key:
        data = await store.get(task.image_key)
        return None if data is None else (data, str(task.image_type))
    legacy = await TaskImage.get_or_none(task_id=task.id)
    return None if legacy is None else (bytes(legacy.data), legacy.content_type)


async def drop(store: BlobStore, task_ids: Iterable[uuid.UUID]) -> None:
    ids = list(task_ids)
    if ids:
        await store.delete(key_for(task_id) for task_id in ids)
        await TaskImage.filter(task_id__in=ids).delete()


async def sweep(store: BlobStore, written_before: datetime) -> int:
    """Deletes the blobs written before `written_before` that no task needs: of a task that is
    sent or ended, of a task that was never committed, and unfinished writes. Returns how many."""
    doomed: list[str] = []
    by_id: dict[uuid.UUID, str] = {}
    for key in await store.older_than(written_before):
        try:
            by_id[uuid.UUID(key)] = key
        except ValueError:  # an unfinished write (TEMP_PREFIX), or not an image: an output's copy
            if key.startswith(TEMP_PREFIX):
                doomed.append(key)
    ids = list(by_id)
    for start in range(0, len(ids), SWEEP_CHUNK):
        chunk = ids[start : start + SWEEP_CHUNK]
        needing = Task.filter(id__in=chunk, status__in=list(NEEDS_IMAGE))
        needed = set(await needing.values_list("id", flat=True))
        doomed += [by_id[task_id] for task_id in chunk if task_id not in needed]
    await store.delete(doomed)
    return len(doomed)
