"""Tidy-up job: the tasks nobody is moving along, and the images no task needs any more.

Runs on its own interval (SUBMIT_INTERVAL_SECONDS) in every process; each check is one
conditional UPDATE on rows whose lease is free, so processes never end a task twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from src.blobs import BlobStore
from src.core.clock import utcnow
from src.db.models import Task, TaskStatus
from src.jobs.claims import lease_free
from src.jobs.context import JobContext
from src.metrics import prometheus as metrics
from src.tasks import image_store, transitions
from src.upstream.submit import UNKNOWN_OUTCOME

logger = logging.getLogger(__name__)


async def reap_lost_submissions(ctx: JobContext) -> int:
    """A task left `submitting` by a crashed worker: the outcome is unknown, never resend it.

    With Higgsfield webhooks configured, a job that does exist will call us when it ends and
    reconcile the task (see src/upstream/webhooks.py), so such a task gets until the run deadline.
    """
    now = utcnow()
    grace = ctx.settings.task_run_deadline if ctx.settings.hf_webhook_url else timedelta(0)
    reaped = await transitions.fail_lost_submissions(ctx.blobs, now - grace, UNKNOWN_OUTCOME)
    metrics.observe_given_up("unknown_outcome", reaped)
    return reaped


async def expire_unsent(ctx: JobContext) -> int:
    """Pending past TASK_SUBMIT_DEADLINE: fail it rather than send it a day late."""
    now = utcnow()
    deadline = ctx.settings.task_submit_deadline
    expired = await transitions.fail_unsent(
        ctx.blobs,
        now - deadline,
        lease_free(now),
        f"Higgsfield did not accept the task within {deadline} (TASK_SUBMIT_DEADLINE); "
        "it was never started and not charged",
    )
    metrics.observe_given_up("submit_deadline", expired)
    return expired


async def cancel_orphans_of_disabled_clients(blobs: BlobStore) -> int:
    """A create that raced with disabling its client may still have stored a pending task."""
    ids = await Task.filter(status=TaskStatus.PENDING, client__disabled_at__isnull=False).values_list(
        "client_id", flat=True
    )
    canceled = 0
    for client_id in set(ids):
        canceled += await transitions.cancel_pending_of(blobs, client_id)
    return canceled


async def tidy_up(ctx: JobContext) -> None:
    """Lost submissions, missed deadlines, orphans, and the images no task needs any more (left
    by a crash, once older than BLOB_ORPHAN_GRACE)."""
    if reaped := await reap_lost_submissions(ctx):
        logger.error("%d task(s) were found mid-submission after a crash and marked failed", reaped)
    if expired := await expire_unsent(ctx):
        logger.warning("%d task(s) passed TASK_SUBMIT_DEADLINE and were marked failed", expired)
    await cancel_orphans_of_disabled_clients(ctx.blobs)
    await image_store.sweep(ctx.blobs, utcnow() - ctx.settings.blob_orphan_grace)
