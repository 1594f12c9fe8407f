"""Every change of a task's status, in one place.

    pending --claim--> submitting --answer--> queued --> in_progress --> completed | failed | nsfw
       |                   |                    |  \\                          (canceled by Higgsfield)
       +--> canceled       +--> pending (retry)  +--> canceled (v2 cancel, upstream said 202)
       +--> failed         +--> failed (refused, or the outcome is unknown)

Each write is one conditional UPDATE on the status the task must have (and, for a task the submit
job claimed, on the claim's `token`), so two writers never both win. A transition that ends the
task, or hands it to Higgsfield, also releases its lease and drops its stored image, which nothing
needs any more; a final status makes the client's callback due. Nothing outside this module writes
`status` (tests/test_layout.py checks that).
"""

import uuid
from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from src.blobs import BlobStore
from src.core.clock import utcnow
from src.db.models import FINAL_STATUSES, UPSTREAM_STATUSES, Task, TaskStatus
from src.tasks import image_store

INITIAL_STATUS = TaskStatus.PENDING
RELEASED = {"lease_owner": None, "lease_until": None}
CLAIMED = [TaskStatus.PENDING, TaskStatus.SUBMITTING]  # a claimed task's statuses before Higgsfield has it


def _final(status: TaskStatus, now: datetime, **fields: Any) -> dict[str, Any]:
    assert status in FINAL_STATUSES, status  # noqa: S101 - a programming error, not input
    return dict(status=status, completed_at=now, updated_at=now, callback_due_at=now, **RELEASED, **fields)


async def _end_where(blobs: BlobStore, filters: Q, status: TaskStatus, **fields: Any) -> int:
    """Ends every task matching `filters` (re-checked by the UPDATE itself); drops their images."""
    ids = list(await Task.filter(filters).values_list("id", flat=True))
    if not ids:
        return 0
    ended = await Task.filter(filters, id__in=ids).update(**_final(status, utcnow(), **fields))
    if ended:
        ended_ids = await Task.filter(id__in=ids, status=status).values_list("id", flat=True)
        await image_store.drop(blobs, ended_ids)
    return ended


async def start_submitting(task_id: uuid.UUID, token: str, upstream_api: str) -> bool:
    """pending -> submitting, the `upstream_api` generation on record before the paid call (a webhook may
    name the job later); False when canceled or the claim is lost."""
    task = Task.filter(id=task_id, lease_owner=token, status=TaskStatus.PENDING)
    return bool(await task.update(status=TaskStatus.SUBMITTING, upstream_api=upstream_api))


async def submitted(
    blobs: BlobStore, task_id: uuid.UUID, token: str, *, request_id: str, attempts: int, poll_at: datetime
) -> bool:
    """submitting -> queued: Higgsfield has it under `request_id`; the image is not needed any more."""
    now = utcnow()
    won = await Task.filter(id=task_id, lease_owner=token, status=TaskStatus.SUBMITTING).update(
        status=TaskStatus.QUEUED,
        upstream_job_id=request_id,
        attempts=attempts,
        submitted_at=now,
        updated_at=now,
        next_attempt_at=poll_at,
        **RELEASED,
    )
    await image_store.drop(blobs, [task_id])
    return bool(won)


async def retry_later(task_id: uuid.UUID, token: str, *, attempts: int, at: datetime) -> bool:
    """Back to pending (from pending or submitting) until `at`, when a transient failure may pass."""
    task = Task.filter(id=task_id, lease_owner=token, status__in=CLAIMED)
    won = await task.update(status=TaskStatus.PENDING, attempts=attempts, next_attempt_at=at, **RELEASED)
    return bool(won)


async def fail_claimed(blobs: BlobStore, task_id: uuid.UUID, token: str, error: str) -> bool:
    """A claimed task that cannot be sent: failed, with the reason."""
    task = Task.filter(id=task_id, lease_owner=token, status__in=CLAIMED)
    won = await task.update(**_final(TaskStatus.FAILED, utcnow(), error=error))
    await image_store.drop(blobs, [task_id])
    return bool(won)


async def fail_lost_submissions(blobs: BlobStore, lease_ended_before: datetime, error: str) -> int:
    """Left `submitting` by a worker that crashed: the outcome is unknown, never send it again."""
    lost = Q(status=TaskStatus.SUBMITTING, lease_until__lt=lease_ended_before)
    return await _end_where(blobs, lost, TaskStatus.FAILED, error=error)


async def fail_unsent(blobs: BlobStore, created_before: datetime, lease_free: Q, error: str) -> int:
    """Pending since before `created_before`: failed rather than sent a day late."""
    stale = Q(lease_free, status=TaskStatus.PENDING, created_at__lt=created_before)
    return await _end_where(blobs, stale, TaskStatus.FAILED, error=error)


async def fail_overdue(blobs: BlobStore, submitted_before: datetime, lease_free: Q, error: str) -> int:
    """With Higgsfield since before `submitted_before`: the service stops waiting."""
    overdue = Q(lease_free, status__in=list(UPSTREAM_STATUSES), submitted_at__lt=submitted_before)
    return await _end_where(blobs, overdue, TaskStatus.FAILED, error=error)


async def follow_upstream(task_id: uuid.UUID, old_status: str, status: TaskStatus, **fields: Any) -> bool:
    """The status read from Higgsfield, written once: only while the task still has `old_status`."""
    if status == old_status:
        return False
    now = utcnow()
    values = (
        _final(status, now, **fields) if status in FINAL_STATUSES else {"status": status, "updated_at": now}
    )
    return bool(await Task.filter(id=task_id, status=old_status).update(**values))


async def reconcile_submitting(blobs: BlobStore, task_id: uuid.UUID, request_id: str) -> bool:
    """A task whose submission answer was lost, named by Higgsfield's webhook: it has the job after all."""
    now = utcnow()
    won = await Task.filter(id=task_id, status=TaskStatus.SUBMITTING, upstream_job_id=None).update(
        status=TaskStatus.QUEUED,
        upstream_job_id=request_id,
        submitted_at=now,
        updated_at=now,
        next_attempt_at=now,
        **RELEASED,
    )
    if won:
        await image_store.drop(blobs, [task_id])
    return bool(won)


async def cancel_pending(blobs: BlobStore, client_id: uuid.UUID, task_id: uuid.UUID) -> bool:
    """pending -> canceled; clearing the lease also stops a dispatcher that is uploading it."""
    filters = Q(id=task_id, client_id=client_id, status=TaskStatus.PENDING)
    return bool(await _end_where(blobs, filters, TaskStatus.CANCELED))


async def cancel_upstream(client_id: uuid.UUID, task_id: uuid.UUID) -> bool:
    """queued/in_progress -> canceled, once Higgsfield accepted the cancel of its job."""
    task = Task.filter(id=task_id, client_id=client_id, status__in=list(UPSTREAM_STATUSES))
    return bool(await task.update(**_final(TaskStatus.CANCELED, utcnow())))


async def cancel_pending_of(blobs: BlobStore, client_id: uuid.UUID) -> int:
    """Cancels every task of a client that Higgsfield does not have yet; returns how many."""
    return await _end_where(blobs, Q(client_id=client_id, status=TaskStatus.PENDING), TaskStatus.CANCELED)
