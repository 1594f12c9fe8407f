"""Retention: copies stored longer than OUTPUT_RETENTION_DAYS (0: kept for ever) are deleted and
their tasks say `expired`. The files go first, then the state: a crash in between leaves a task
`stored` whose files are gone (served as expired), which the next sweep marks; never an orphan."""

import logging
from datetime import timedelta

from src.core.clock import utcnow
from src.db.models import Task
from src.jobs.context import JobContext
from src.outputs.schemas import EXPIRED, KINDS, STORED, blob_key
from src.outputs.storage import outputs_in

logger = logging.getLogger(__name__)

BATCH_SIZE = 500  # tasks a sweep batch deletes the copies of (two keys each: one S3 DeleteObjects)


async def expire_copies(ctx: JobContext) -> int:
    """Deletes the copies past retention; returns how many tasks' copies expired."""
    days = ctx.settings.output_retention_days
    if not days:
        return 0
    past = {"output_state": STORED, "output_stored_at__lt": utcnow() - timedelta(days=days)}
    store, expired = outputs_in(ctx.blobs, ctx.settings), 0
    while ids := list(await Task.filter(**past).limit(BATCH_SIZE).values_list("id", flat=True)):
        await store.delete(blob_key(task_id, kind) for task_id in ids for kind in KINDS)
        expired += await Task.filter(id__in=ids, **past).update(output_state=EXPIRED, output_error=None)
    if expired:
        logger.info("The copies of %d task(s) passed OUTPUT_RETENTION_DAYS and were deleted", expired)
    return expired
