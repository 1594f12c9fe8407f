"""Tidy-up job: the tasks nobody is moving along, and the images no task needs any more. Each
check is one conditional UPDATE on rows whose lease is free: processes never end a task twice."""

import logging
from datetime import timedelta

from src.core.clock import utcnow
from src.db.models import Task, TaskStatus
from src.jobs.claims import lease_free
from src.jobs.context import JobContext
from src.metrics import prometheus as metrics
from src.tasks import image_store, transitions
from src.upstream.submit import UNKNOWN_OUTCOME

logger = logging.getLogger(__name__)


async def tidy_up(ctx: JobContext) -> None:
    """Lost submissions, missed deadlines, orphans, and the images no task needs any more (left
    by a crash, once older than BLOB_ORPHAN_GRACE)."""
    settings = ctx.settings
    # Left `submitting` by a crashed worker: the outcome is unknown, never resend it. With webhooks
    # on, a job that does exist calls us when it ends (webhooks.py): it gets until the run deadline.
    grace = settings.task_run_deadline if settings.hf_webhook_url else timedelta(0)
    reaped = await transitions.fail_lost_submissions(ctx.blobs, utcnow() - grace, UNKNOWN_OUTCOME)
    metrics.observe_given_up("unknown_outcome", reaped)
    if reaped:
        logger.error("%d task(s) were found mid-submission after a crash and marked failed", reaped)
    now, deadline = utcnow(), settings.task_submit_deadline
    expired = await transitions.fail_unsent(
        ctx.blobs,
        now - deadline,
        lease_free(now),
        f"Higgsfield did not accept the task within {deadline} (TASK_SUBMIT_DEADLINE); "
        "it was never started and not charged",
    )
    metrics.observe_given_up("submit_deadline", expired)
    if expired:
        logger.warning("%d task(s) passed TASK_SUBMIT_DEADLINE and were marked failed", expired)
    # A create that raced with disabling its client may still have stored a pending task.
    disabled = Task.filter(status=TaskStatus.PENDING, client__disabled_at__isnull=False)
    for client_id in set(await disabled.values_list("client_id", flat=True)):
        await transitions.cancel_pending_of(ctx.blobs, client_id)
    await image_store.sweep(ctx.blobs, utcnow() - settings.blob_orphan_grace)
