"""Higgsfield's webhook: a hint that a job set changed. The poller stays the source of truth.

A valid call makes the tasks of that job set due for a read at once. When the call names a
task (we put `?task=<id>` in the URL we give Higgsfield) that is still `submitting` without a
job set — the answer to our submission was lost — it also reconciles that task: Higgsfield
has the job, so the task follows it instead of ending with an unknown outcome.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from src.config import Settings
from src.errors import InvalidField, NotFound, Unauthorized
from src.repository.models import UPSTREAM_STATUSES, Task, TaskImage, TaskStatus
from src.services.security import same_secret
from src.utils.clock import utcnow

logger = logging.getLogger(__name__)


def check_secret(settings: Settings, given: str | None) -> None:
    if not settings.hf_webhook_url:
        raise NotFound("Not Found")  # not configured: the route does not exist
    if not same_secret(given, settings.hf_webhook_secret):
        raise Unauthorized("Invalid webhook secret")


def job_set_id_of(payload: Any) -> str:
    job_set_id = payload.get("id") or payload.get("job_set_id") if isinstance(payload, dict) else None
    if not isinstance(job_set_id, str) or not 0 < len(job_set_id) <= 64:
        raise InvalidField(("body", "id"), "The webhook body must be a job set with its id")
    return job_set_id


async def reconcile(task_hint: str | None, job_set_id: str) -> bool:
    try:
        task_id = uuid.UUID(task_hint) if task_hint else None
    except ValueError:
        return False
    if task_id is None:
        return False
    now = utcnow()
    found = await Task.filter(id=task_id, status=TaskStatus.SUBMITTING, job_set_id=None).update(
        status=TaskStatus.QUEUED,
        job_set_id=job_set_id,
        submitted_at=now,
        updated_at=now,
        next_attempt_at=now,
        lease_owner=None,
        lease_until=None,
    )
    if found:
        await TaskImage.filter(task_id=task_id).delete()
        logger.warning("Task %s reconciled with job set %s from a Higgsfield webhook", task_id, job_set_id)
    return bool(found)


async def job_set_changed(task_hint: str | None, job_set_id: str) -> int:
    """Makes the job set's tasks due now; returns how many tasks will be read."""
    await reconcile(task_hint, job_set_id)
    return await Task.filter(job_set_id=job_set_id, status__in=list(UPSTREAM_STATUSES)).update(
        next_attempt_at=utcnow()
    )
