"""Callback job: claims due callbacks under a lease, sends them with bounded concurrency, records
each attempt, and retries with backoff until an attempt started past the retry window (from
`completed_at`) fails too; an address not allowed (`destinations`) ends the callback at once."""

import asyncio
import logging
import math
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pydantic_core
from tortoise.expressions import Q

from src.callbacks import destinations
from src.callbacks.signing import Attempt, deliver
from src.core.clock import utcnow
from src.core.task_context import working_on
from src.db.models import FINAL_STATUSES, CallbackAttempt, Task
from src.jobs.claims import claim_batch, new_claim_token, update_claimed
from src.jobs.context import JobContext
from src.metrics import prometheus as metrics
from src.tasks import service as tasks
from src.tasks.schemas import PUBLIC_COLUMNS, render_task

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
SWEEP_SIZE = 1000
CONCURRENCY = 16
LEASE_MARGIN_SECONDS = 30.0
SECRET_FIELD = "client__webhook_secret"  # noqa: S105 - a column name, not a secret


def due_filter(now: datetime) -> Q:
    return Q(
        callback_url__isnull=False,
        callback_delivered=False,
        callback_due_at__lte=now,
        status__in=list(FINAL_STATUSES),
    )


async def clear_unrequested(now: datetime) -> None:
    """Every final status sets `callback_due_at`, also without a `callback_url`; clearing that keeps
    the indexed range the claim reads to the real callbacks."""
    ids = await (
        Task.filter(callback_url__isnull=True, callback_due_at__lte=now)
        .limit(SWEEP_SIZE)
        .values_list("id", flat=True)
    )
    if ids:
        await Task.filter(id__in=list(ids), callback_url__isnull=True).update(callback_due_at=None)


async def _deliver(ctx: JobContext, limit: asyncio.Semaphore, token: str, row: dict[str, Any]) -> None:
    """Sends one callback and records the attempt: the task is delivered, due again, or ended."""
    task_id: uuid.UUID = row["id"]
    working_on(task_id)  # this delivery runs in an asyncio task of its own (gather)
    secret: str = row.pop(SECRET_FIELD)
    body = pydantic_core.to_json(render_task(tasks.public(dict(row))))
    url, timeout = row["callback_url"], ctx.settings.callback_timeout_seconds
    async with limit:
        attempted_at = utcnow()
        allowed = ctx.settings.callback_allow_private
        refused = None if allowed else await destinations.problem(url, resolve_within=timeout)
        if refused:
            result = Attempt(None, refused)
        else:
            assert ctx.callbacks_http is not None  # noqa: S101 - the lifespan gives the job its client
            result = await deliver(ctx.callbacks_http, url, secret, task_id, body, timeout_seconds=timeout)
    error = result.error[:255] if result.error else None
    await CallbackAttempt.create(
        task_id=task_id, attempted_at=attempted_at, status_code=result.status_code, error=error
    )
    attempts = row["callback_attempts"] + 1
    fields: dict[str, Any] = {"callback_attempts": attempts, "callback_last_status": result.status_code}
    # For logs: the receiver's host only, as a URL's path or query may carry the client's tokens.
    host = urlsplit(url).hostname or "?"
    window_ends = (row["completed_at"] or attempted_at) + ctx.settings.callback_retry_window
    if result.delivered:
        outcome = "delivered"
        fields.update(callback_delivered=True, callback_due_at=None)
        logger.info(
            "Callback of task %s delivered on attempt %d (HTTP %s)", task_id, attempts, result.status_code
        )
    elif refused:
        outcome = "refused"
        fields.update(callback_due_at=None, callback_error=result.error)
        logger.warning("Callback of task %s to %s refused: %s", task_id, host, result.error)
    elif attempted_at >= window_ends:  # only an attempt started after the window ends is the last
        outcome = "given_up"
        last = f"not delivered within the retry window; last attempt: {result.error}"
        fields.update(callback_due_at=None, callback_error=last[:255])
        logger.warning(
            "Giving up the callback of task %s to %s after %d attempts over the retry window; last: %s",
            *(task_id, host, attempts, result.error),
        )
    else:
        outcome = "retrying"
        delay = ctx.backoff(attempts, ctx.settings.callback_retry_max_seconds)
        fields["callback_due_at"] = utcnow() + delay
        logger.info(
            "Callback of task %s failed on attempt %d (%s); next try in %.1f s",
            *(task_id, attempts, result.error, delay.total_seconds()),
        )
    metrics.callback_attempts.labels(outcome).inc()
    if not await update_claimed(task_id, token, **fields):
        logger.warning(
            "The claim on the callback of task %s ran out before the attempt was recorded", task_id
        )


async def deliver_due_callbacks(ctx: JobContext) -> None:
    """One round over the due callbacks."""
    await clear_unrequested(utcnow())
    token = new_claim_token(ctx.worker_id)
    # A lease that outlasts a batch of receivers that all time out: no other worker sends one twice.
    worst = math.ceil(BATCH_SIZE / CONCURRENCY) * ctx.settings.callback_timeout_seconds + LEASE_MARGIN_SECONDS
    while True:
        ids = await claim_batch(
            filters=due_filter(utcnow()),
            order_by=("callback_due_at",),
            limit=BATCH_SIZE,
            token=token,
            lease_seconds=max(ctx.settings.lease_seconds, worst),
        )
        if not ids:
            return
        rows = await Task.filter(id__in=ids, lease_owner=token).values(*PUBLIC_COLUMNS, SECRET_FIELD)
        limit = asyncio.Semaphore(CONCURRENCY)
        results = await asyncio.gather(
            *(_deliver(ctx, limit, token, row) for row in rows), return_exceptions=True
        )
        for row, outcome in zip(rows, results, strict=True):
            if isinstance(outcome, BaseException):  # its lease runs out and a later round tries again
                logger.error("Callback of task %s could not be processed", row["id"], exc_info=outcome)
        if len(ids) < BATCH_SIZE:  # the due ones are done; failures wait for their backoff
            return
