"""A retry: a new task from an ended task's fields, some of them replaced, and its image, which
the client does not send again. The new task names the old one in `retry_of`."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from src.blobs import BlobStore
from src.core.config import Settings
from src.core.errors import Conflict, NotFound, ServiceUnavailable
from src.db.models import FINAL_STATUSES, Task
from src.tasks import idempotency, image_store
from src.tasks.schemas import TaskFields, TaskOverrides
from src.tasks.service import NewTask, check_choices, take
from src.upstream.errors import UpstreamTransient

if TYPE_CHECKING:
    from src.upstream.accounts import Accounts

# How long the check that Higgsfield still serves the image may take.
FILE_CHECK_SECONDS = 3.0
CHECK_RETRY_AFTER = 5
ENDED = ", ".join(sorted(FINAL_STATUSES))
IMAGE_GONE = (
    "The task's image is gone: Higgsfield no longer serves it and the gateway no longer keeps it. "
    "Create a new task with the image (POST /api/higgsfield/i2v/)"
)


async def retry(
    client_id: uuid.UUID,
    task_id: uuid.UUID,
    overrides: TaskOverrides | None,
    settings: Settings,
    blobs: BlobStore,
    accounts: Accounts,
    key: str | None,
    *,
    created_status: int,
) -> tuple[int, dict[str, Any], bool]:
    """(status code, body, replayed) as `service.take`: the request is the old task's id and the
    fields the body sets, which the Idempotency-Key's fingerprint covers."""
    chosen = overrides.chosen() if overrides is not None else {}

    async def build() -> NewTask:
        old = await Task.get_or_none(id=task_id, client_id=client_id)
        if old is None:
            raise NotFound("Task not found")
        if old.status not in FINAL_STATUSES:
            raise Conflict(f"The task has not ended yet; only an ended task ({ENDED}) can be retried")
        stored = {name: getattr(old, name) for name in TaskFields.model_fields}
        fields = TaskFields.model_construct(**{**stored, **chosen})  # each value checked when it came in
        await check_choices(fields, settings)
        return await _with_image(fields, old, blobs, accounts)

    fingerprint = idempotency.fingerprint({"retry_of": str(task_id), **chosen}, b"")
    idempotent = None if key is None else (key, fingerprint)
    return await take(client_id, build, settings, blobs, idempotent, created_status=created_status)


async def _with_image(fields: TaskFields, old: Task, blobs: BlobStore, accounts: Accounts) -> NewTask:
    """The old task's image: Higgsfield's file while it still serves it (the new task is sent
    without an upload), else the gateway's stored copy (copied for the new task), else a 409."""
    unknown = None
    if old.image_url:
        try:
            # A storage URL, asked without credentials: any account's client can tell.
            if await accounts.accounts[0].default.file_served(old.image_url, within=FILE_CHECK_SECONDS):
                return NewTask(fields, None, old.image_type, image_url=old.image_url, retry_of=old.id)
        except UpstreamTransient as exc:
            unknown = exc
    stored = await image_store.load(blobs, old)
    if stored is not None:
        data, content_type = stored
        return NewTask(fields, data, content_type, retry_of=old.id)
    if unknown is not None:
        raise ServiceUnavailable(
            "Higgsfield could not be reached to check that it still has the task's image; try again",
            retry_after=CHECK_RETRY_AFTER,
        ) from unknown
    raise Conflict(IMAGE_GONE)
