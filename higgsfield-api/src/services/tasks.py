"""Image-to-video tasks as a client sees them: create, read, list."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from src.errors import Conflict, InvalidField, NotFound
from src.repository import fast_reads
from src.repository.models import FINAL_STATUSES, PUBLIC_TASK_FIELDS, Task, TaskImage, TaskStatus
from src.services import auth, motions, security
from src.services import idempotency as idempotency_keys
from src.services.transitions import final_fields
from src.utils.clock import utcnow

CREATED_STATUS = 202
PUBLIC_FIELDS = PUBLIC_TASK_FIELDS


@dataclass(frozen=True, slots=True)
class NewTask:
    prompt: str
    motion: str
    model: str
    duration: int
    metadata: dict[str, Any] | None
    motion_strength: float
    seed: int | None
    enhance_prompt: bool
    callback_url: str | None
    image: bytes
    image_content_type: str


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A task row (from `.values(*PUBLIC_FIELDS)`) as the API shows it, keys in the order of
    the answer's schema (TaskOut), so that it can be written out as it is."""
    status = row["status"]
    url = row["callback_url"]
    return {
        "id": row["id"],
        "status": TaskStatus.PENDING.value if status == TaskStatus.SUBMITTING else status,
        "prompt": row["prompt"],
        "motion": row["motion"],
        "model": row["model"],
        "duration": row["duration"],
        "metadata": row["metadata"],
        "video_url": row["video_url"],
        "thumbnail_url": row["thumbnail_url"],
        "error": row["error"],
        "callback": {
            "url": url,
            "delivered": bool(row["callback_delivered"]),
            "attempts": row["callback_attempts"],
            "last_status": row["callback_last_status"],
        }
        if url
        else None,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "completed_at": row["completed_at"],
    }


async def create(
    client_id: uuid.UUID, new: NewTask, *, idempotency: tuple[str, str] | None = None
) -> dict[str, Any]:
    """Stores a pending task with its image (and, with `idempotency` = (key, fingerprint), the
    answer to replay) in one transaction."""
    motion, motion_id = await motions.resolve(new.motion)
    async with in_transaction():
        task = await Task.create(
            id=uuid.uuid4(),
            client_id=client_id,
            status=TaskStatus.PENDING,
            prompt=new.prompt,
            motion=motion,
            motion_id=motion_id,
            model=new.model,
            duration=new.duration,
            metadata=new.metadata,
            motion_strength=new.motion_strength,
            seed=new.seed,
            enhance_prompt=new.enhance_prompt,
            callback_url=new.callback_url,
            next_attempt_at=utcnow(),
        )
        await TaskImage.create(task=task, content_type=new.image_content_type, data=new.image)
        answer = public({field: getattr(task, field) for field in PUBLIC_FIELDS})
        if idempotency:
            key, print_ = idempotency
            await idempotency_keys.remember(client_id, key, print_, task.id, CREATED_STATUS, answer)
    return answer


async def get(client_id: uuid.UUID, task_id: uuid.UUID) -> dict[str, Any]:
    rows = await Task.filter(id=task_id, client_id=client_id).values(*PUBLIC_FIELDS)
    if not rows:
        raise NotFound("Task not found")
    return public(rows[0])


async def get_with_key(api_key: str | None, task_id: uuid.UUID) -> dict[str, Any]:
    """`GET /i2v/{id}`, the call clients make most: the key check and the task in one query.
    Only when that finds nothing does a second query tell a bad key (401) from a task that is
    not the caller's (404), in the order the other routes answer."""
    if api_key:
        found = await fast_reads.task_for_key(security.hash_api_key(api_key), task_id)
        if found:
            task, key = found
            await auth.touch_key(key)
            return public(task)
    await auth.authenticate(api_key)
    raise NotFound("Task not found")


def _encode_cursor(created_at: datetime, task_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{task_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created_at, task_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created_at), uuid.UUID(task_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidField(("query", "cursor"), "Invalid cursor; pass next_cursor as returned") from None


async def list_for(
    client_id: uuid.UUID, *, status: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """Newest first, keyset-paginated on (created_at, id): stable while tasks are added."""
    statuses: tuple[str, ...] = ()
    if status == TaskStatus.PENDING:
        statuses = (TaskStatus.PENDING.value, TaskStatus.SUBMITTING.value)
    elif status:
        statuses = (str(status),)
    after = _decode_cursor(cursor) if cursor else None
    rows = await fast_reads.task_page(client_id, statuses=statuses, after=after, limit=limit + 1)
    next_cursor = (
        _encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    )
    return {"items": [public(row) for row in rows[:limit]], "next_cursor": next_cursor}


async def cancel(client_id: uuid.UUID, task_id: uuid.UUID) -> dict[str, Any]:
    """A task still pending here is canceled and never sent; anything else is a 409."""
    now = utcnow()
    # Clearing the lease also stops a dispatcher that claimed the task and is uploading it.
    won = await Task.filter(id=task_id, client_id=client_id, status=TaskStatus.PENDING).update(
        **final_fields(TaskStatus.CANCELED, now)
    )
    task = await get(client_id, task_id)
    if not won:
        if task["status"] in FINAL_STATUSES:
            raise Conflict(f"The task is already {task['status']}")
        raise Conflict("Higgsfield already has this task and its API cannot cancel it")
    await TaskImage.filter(task_id=task_id).delete()
    return task


async def cancel_pending_of(client_id: uuid.UUID) -> int:
    """Cancels every task of a client that Higgsfield does not have yet; returns how many."""
    ids = await Task.filter(client_id=client_id, status=TaskStatus.PENDING).values_list("id", flat=True)
    if not ids:
        return 0
    canceled = await Task.filter(id__in=list(ids), status=TaskStatus.PENDING).update(
        **final_fields(TaskStatus.CANCELED, utcnow())
    )
    done = await Task.filter(id__in=list(ids), status=TaskStatus.CANCELED).values_list("id", flat=True)
    await TaskImage.filter(task_id__in=list(done)).delete()
    return canceled
