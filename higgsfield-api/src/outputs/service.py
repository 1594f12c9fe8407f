"""A task's copied outputs as its client gets them."""

import uuid

from fastapi import Response

from src.blobs import BlobStore
from src.core.config import Settings
from src.core.errors import Conflict, NotFound
from src.db.models import Task, TaskStatus
from src.outputs.schemas import EXPIRED, FAILED, KINDS, PENDING, STORED, blob_key
from src.outputs.storage import outputs_in

PENDING_RETRY_AFTER = 5
EXPIRED_DETAIL = "The copy of this task's outputs was deleted after OUTPUT_RETENTION_DAYS"


async def serve(
    client_id: uuid.UUID, task_id: uuid.UUID, kind: str, settings: Settings, blobs: BlobStore
) -> Response:
    """The file (or a redirect to it) of the client's task; NotFound for another client's task,
    Conflict while there is no copy to serve, saying why."""
    rows = await Task.filter(id=task_id, client_id=client_id).values(
        "status", "thumbnail_url", "output_state", "output_error"
    )
    if not rows:
        raise NotFound("Task not found")
    task = rows[0]
    if not settings.output_copy:
        raise Conflict("This service keeps no copies of outputs (OUTPUT_COPY=false): fetch video_url instead")
    state = task["output_state"]
    if state == PENDING:
        raise Conflict("The outputs are being copied: try again shortly", retry_after=PENDING_RETRY_AFTER)
    if state == FAILED:
        raise Conflict(f"The outputs could not be copied: {task['output_error']}")
    if state == EXPIRED:
        raise Conflict(EXPIRED_DETAIL)
    if state != STORED:
        if task["status"] == TaskStatus.COMPLETED:
            raise Conflict("No copy was made of this task's outputs (it completed before copies were on)")
        raise Conflict(f"The task is {task['status']}: it has no outputs")
    if kind == "thumbnail" and not task["thumbnail_url"]:
        raise NotFound("This task has no thumbnail")
    response = await outputs_in(blobs, settings).response(blob_key(task_id, kind), KINDS[kind][1])
    if response is None:  # deleted by retention a moment ago
        raise Conflict(EXPIRED_DETAIL)
    return response
