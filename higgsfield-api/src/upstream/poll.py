"""Poll job: reads the job sets of tasks Higgsfield has and writes their progress back. A final
status is written once, by a conditional update on the status the task had when it was read."""

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any

from tortoise.expressions import Q

from src.core.clock import utcnow
from src.core.config import Settings
from src.core.task_context import working_on
from src.db.models import FINAL_STATUSES, UPSTREAM_STATUSES, Task, TaskStatus
from src.jobs.claims import claim_batch, lease_free, new_claim_token
from src.jobs.context import JobContext
from src.metrics import prometheus as metrics
from src.outputs.copy import first_try
from src.tasks import transitions
from src.upstream.errors import UpstreamError, UpstreamPermanent
from src.upstream.generations import JobState

logger = logging.getLogger(__name__)

# Higgsfield's job statuses are ours of the same names.
UPSTREAM_TO_TASK = {status.value: status for status in (*UPSTREAM_STATUSES, *FINAL_STATUSES)}
FAILED_UPSTREAM = "Higgsfield could not generate the video (the job failed upstream; it was not charged)"
NSFW_UPSTREAM = "Higgsfield flagged the image or prompt as NSFW (the job was not charged)"
GONE_UPSTREAM = "Higgsfield no longer knows this job; it may have expired"
# The poller's claim on a task outlasts its read's timeout by this much (the writes after it).
POLL_LEASE_MARGIN = 5.0
# A round also reads the tasks due within this share of the interval (at most this many seconds).
READ_EARLY_SHARE, READ_EARLY_MAX = 0.1, 1.0


async def apply_state(task_id: uuid.UUID, old_status: str, state: JobState, copy: dict[str, Any]) -> bool:
    """Writes a read job state once (a completed one with the `copy` columns of its outputs); False
    when there is nothing to write yet, nothing changed or another writer was first."""
    status = UPSTREAM_TO_TASK.get(state.status)
    if status is None or (status == TaskStatus.COMPLETED and not state.video_url):
        return False  # unknown, or completed without a result yet: read it again next time
    fields: dict[str, Any] = {}
    if status == TaskStatus.COMPLETED:
        fields = {"video_url": state.video_url, "thumbnail_url": state.thumbnail_url, **copy}
    elif status == TaskStatus.FAILED:
        fields = {"error": f"{FAILED_UPSTREAM}: {state.error}" if state.error else FAILED_UPSTREAM}
    elif status == TaskStatus.NSFW:
        fields = {"error": NSFW_UPSTREAM}
    elif status == TaskStatus.CANCELED:
        fields = {"error": "Higgsfield canceled the job"}
    return await transitions.follow_upstream(task_id, old_status, status, **fields)


async def _read(ctx: JobContext, limit: asyncio.Semaphore, row: dict[str, Any]) -> None:
    working_on(row["id"])  # this read runs in an asyncio task of its own (gather)
    client = ctx.higgsfield.of(row["upstream_account"], row["upstream_api"])
    if client is None:  # its account is no longer configured (logged once): left to the run deadline
        return
    async with limit:
        try:
            state = await client.status(row["upstream_job_id"])
        except UpstreamPermanent as exc:
            if exc.status_code != 404:
                logger.error("Reading job set %s failed: %s", row["upstream_job_id"], exc)
            elif await transitions.follow_upstream(
                row["id"], row["status"], TaskStatus.FAILED, error=GONE_UPSTREAM
            ):
                ctx.on_final()
            return
        except UpstreamError as exc:
            logger.warning("Reading job set %s will be retried: %s", row["upstream_job_id"], exc)
            return
    if await apply_state(row["id"], row["status"], state, first_try(ctx.settings)):
        logger.info("Task %s is now %s", row["id"], state.status)
        if state.status not in ("queued", "in_progress"):
            ctx.on_final()


def poll_lease_seconds(settings: Settings) -> float:
    """How long the poller's claim on a task lasts: its read's timeout and a margin (at most
    LEASE_SECONDS), renewed while the batch is read. A worker killed mid-read costs that much."""
    return min(settings.lease_seconds, settings.hf_status_timeout_seconds + POLL_LEASE_MARGIN)


async def _keep_leased(ids: list[uuid.UUID], token: str, seconds: float, done: asyncio.Event) -> None:
    """Renews the batch's claim every half lease until `done` (a read may wait for its turn)."""
    while True:
        try:
            await asyncio.wait_for(done.wait(), seconds / 2)
            return
        except TimeoutError:
            pass
        try:
            until = utcnow() + timedelta(seconds=seconds)
            await Task.filter(id__in=ids, lease_owner=token).update(lease_until=until)
        except Exception:
            logger.exception("Renewing the claim on a batch of reads failed; trying again")


async def _read_batch(
    ctx: JobContext, limit: asyncio.Semaphore, token: str, rows: list[dict[str, Any]]
) -> None:
    """Reads one claimed batch, then releases it in one UPDATE (a task that changed was written by
    `apply_state`; one that ended is released already). Its next read was set by the claim, so a
    Higgsfield webhook that made it due meanwhile is kept. A read that fails (a database error)
    is logged and read again then, as the rest of the batch."""
    ids = [row["id"] for row in rows]
    done = asyncio.Event()
    renewing = asyncio.create_task(_keep_leased(ids, token, poll_lease_seconds(ctx.settings), done))
    try:
        outcomes = await asyncio.gather(*(_read(ctx, limit, row) for row in rows), return_exceptions=True)
    finally:
        done.set()
        await renewing
    for row, outcome in zip(rows, outcomes, strict=True):
        if isinstance(outcome, Exception):
            logger.error("Reading task %s failed; it is read again next round", row["id"], exc_info=outcome)
    await Task.filter(id__in=ids, lease_owner=token).update(lease_owner=None, lease_until=None)


async def poll_in_flight(ctx: JobContext) -> int:
    """One poll round; returns how many were read. A round takes the tasks due when it started,
    so it ends even when reading them takes longer than the interval. Batches overlap; one
    semaphore keeps the round's reads within POLL_CONCURRENCY."""
    settings, now = ctx.settings, utcnow()
    expired = await transitions.fail_overdue(
        ctx.blobs,
        now - settings.task_run_deadline,
        lease_free(now),
        f"Higgsfield did not finish the job within {settings.task_run_deadline} (TASK_RUN_DEADLINE); "
        "the service stopped waiting for it",
    )
    metrics.observe_given_up("run_deadline", expired)
    if expired:
        logger.warning("%d task(s) passed TASK_RUN_DEADLINE and were marked failed", expired)
    token = new_claim_token(ctx.worker_id)
    # The tasks due when the round began, or a little after (one sent just after the last round
    # is not left for the round after next), each read again one interval after the round began:
    # the next round finds them due, and this one never takes them twice.
    interval = settings.poll_interval_seconds
    early = timedelta(seconds=min(READ_EARLY_MAX, interval * READ_EARLY_SHARE))
    due = Q(status__in=[TaskStatus.QUEUED, TaskStatus.IN_PROGRESS], next_attempt_at__lte=now + early)
    next_at = now + timedelta(seconds=interval)
    limit = asyncio.Semaphore(settings.poll_concurrency)
    reading: asyncio.Task[None] | None = None
    read = 0
    try:
        while True:
            ids = await claim_batch(
                filters=due,
                order_by=("next_attempt_at",),
                limit=settings.poll_batch_size,
                token=token,
                lease_seconds=poll_lease_seconds(settings),
                next_attempt_at=next_at,
            )
            if not ids:
                return read
            rows = await Task.filter(id__in=ids).values(
                "id", "status", "upstream_job_id", "upstream_api", "upstream_account"
            )
            batch = asyncio.create_task(_read_batch(ctx, limit, token, rows))
            if reading is not None:
                await reading  # at most two batches at once: one finishing, one starting
            reading = batch
            read += len(rows)
    finally:
        if reading is not None:
            await reading
