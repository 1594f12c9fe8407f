"""Copy job: downloads the outputs of completed tasks from Higgsfield into the blob store.

A completed task starts `pending` (with OUTPUT_COPY on). A worker claims up to OUTPUT_CONCURRENCY
due copies with one conditional UPDATE that moves `output_next_at` to the end of its claim: a copy
is due again when its claim runs out, so a killed worker's copy is taken over by the next round
(of any process). Each output is streamed to a temporary file in chunks, within OUTPUT_MAX_BYTES and
OUTPUT_TIMEOUT_SECONDS, then committed under a key of its own (storage.py); an output already
stored by an earlier try that died before recording it is not downloaded again. Network errors,
timeouts, 408, 429 and 5xx are retried with backoff, MAX_ATTEMPTS tries in all; any other 4xx and
a file over the limit end the copy `failed` with the reason, and nothing of it is kept."""

import asyncio
import logging
import os
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import anyio
import httpx
from tortoise.expressions import Q

from src.core.clock import utcnow
from src.core.config import Settings
from src.core.task_context import working_on
from src.db.models import Task
from src.jobs.claims import new_claim_token
from src.jobs.context import JobContext
from src.outputs.schemas import FAILED, KINDS, PENDING, STORED, blob_key
from src.outputs.storage import LocalOutputs, S3Outputs, outputs_in

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CHUNK_BYTES = 256 * 1024
TRANSIENT_STATUSES = frozenset({408, 429})


class CopyFailed(Exception):
    """The output cannot be copied (a refusal, a file over the limit); the message says why."""


class TryLater(Exception):
    """A failure that may pass: a network error, a timeout, 408, 429 or 5xx."""


def first_try(settings: Settings) -> dict[str, Any]:
    """The columns that make a completing task's copy due now (none with OUTPUT_COPY off)."""
    return {"output_state": PENDING, "output_next_at": utcnow()} if settings.output_copy else {}


async def _download(http: httpx.AsyncClient, url: str, path: anyio.Path, limit: int) -> int:
    """Streams `url` into a new file at `path`, fsynced; returns its size."""
    try:
        async with http.stream("GET", url) as response:
            status = response.status_code
            if status >= 500 or status in TRANSIENT_STATUSES:
                raise TryLater(f"the file answered HTTP {status}")
            if status >= 400:
                raise CopyFailed(f"the file answered HTTP {status}")
            if int(response.headers.get("content-length") or 0) > limit:
                raise CopyFailed(f"the file is larger than OUTPUT_MAX_BYTES ({limit} bytes)")
            size = 0
            async with await path.open("xb") as file:
                async for chunk in response.aiter_bytes(CHUNK_BYTES):
                    size += len(chunk)
                    if size > limit:
                        raise CopyFailed(f"the file is larger than OUTPUT_MAX_BYTES ({limit} bytes)")
                    await file.write(chunk)
                await file.flush()
                await anyio.to_thread.run_sync(os.fsync, file.wrapped.fileno())
            return size
    except httpx.HTTPError as exc:  # connection refused or reset, a read timeout, a bad redirect
        raise TryLater(f"the file could not be read: {type(exc).__name__}: {exc}") from None


async def _copy_outputs(
    http: httpx.AsyncClient, store: LocalOutputs | S3Outputs, settings: Settings, row: dict[str, Any]
) -> int:
    """Stores every output of the task; returns their total size."""
    total = 0
    for kind, (column, media_type) in KINDS.items():
        url, key = row[column], blob_key(row["id"], kind)
        if not url:
            continue
        await store.discard_unfinished(key)
        size = await store.size(key)  # stored by an earlier try that died before recording it
        if size is None:
            spooled = await store.spool_path(key)
            try:
                size = await _download(http, url, anyio.Path(spooled), settings.output_max_bytes)
                await store.commit(spooled, key, media_type)
            finally:
                await anyio.Path(spooled).unlink(missing_ok=True)
        total += size
    return total


async def _record(
    task_id: uuid.UUID,
    token: str,
    state: str,
    *,
    attempts: int,
    error: str | None = None,
    next_at: datetime | None = None,
    size: int | None = None,
) -> None:
    """Writes the outcome of a try while the claim `token` still holds the copy."""
    written = await Task.filter(id=task_id, output_claim=token).update(
        output_claim=None,
        output_state=state,
        output_attempts=attempts,
        output_error=error[:255] if error else None,
        output_next_at=next_at,
        output_bytes=size,
        output_stored_at=utcnow() if state == STORED else None,
    )
    if not written:
        logger.warning("The claim on the copy of task %s ran out before it was recorded", task_id)


async def copy_one(
    ctx: JobContext, http: httpx.AsyncClient, store: LocalOutputs | S3Outputs, token: str, row: dict[str, Any]
) -> None:
    task_id, settings = row["id"], ctx.settings
    working_on(task_id)  # this copy runs in an asyncio task of its own (gather)
    attempts = row["output_attempts"] + 1
    try:
        with anyio.fail_after(settings.output_timeout_seconds):
            size = await _copy_outputs(http, store, settings, row)
    except (CopyFailed, TryLater, TimeoutError, OSError) as exc:
        reason = str(exc)
        if isinstance(exc, TimeoutError):
            reason = "the copy took longer than OUTPUT_TIMEOUT_SECONDS"
        elif isinstance(exc, OSError):  # the disk (full, unwritable)
            reason = f"the copy could not be stored: {exc}"
        if isinstance(exc, CopyFailed) or attempts >= MAX_ATTEMPTS:
            # An output stored before another one failed: nothing of the copy is kept.
            await store.delete(blob_key(task_id, kind) for kind in KINDS)
            logger.warning("The outputs of task %s could not be copied: %s", task_id, reason)
            await _record(task_id, token, FAILED, attempts=attempts, error=reason)
        else:
            delay = ctx.backoff(attempts)
            logger.info(
                "The copy of task %s is tried again in %.1f s: %s", task_id, delay.total_seconds(), reason
            )
            await _record(task_id, token, PENDING, attempts=attempts, error=reason, next_at=utcnow() + delay)
        return
    logger.info("The outputs of task %s are stored (%d bytes)", task_id, size)
    await _record(task_id, token, STORED, attempts=attempts, size=size)


async def _claim(settings: Settings, token: str) -> list[uuid.UUID]:
    """Up to OUTPUT_CONCURRENCY due copies for `token`, until their downloads' timeout and a lease more.
    Each is claimed by its primary key: on MySQL an UPDATE over a range of the (output_state,
    output_next_at) index would lock its gaps, and deadlock with the poll job completing tasks
    into that range."""
    now = utcnow()
    due = Q(output_state=PENDING, output_next_at__lte=now)
    query = Task.filter(due).order_by("output_next_at").limit(settings.output_concurrency)
    until = now + timedelta(seconds=settings.output_timeout_seconds + settings.lease_seconds)
    return [
        task_id
        for task_id in await query.values_list("id", flat=True)
        if await Task.filter(due, id=task_id).update(output_claim=token, output_next_at=until)
    ]


async def copy_due(ctx: JobContext, more: Callable[[], None]) -> int:
    """One batch of due copies, at most OUTPUT_CONCURRENCY at once; calls `more` when the batch was
    full (more may be due). Returns how many it took."""
    settings = ctx.settings
    if not settings.output_copy:
        return 0
    token = new_claim_token(ctx.worker_id)
    ids = await _claim(settings, token)
    if not ids:
        return 0
    rows = await Task.filter(id__in=ids).values("id", "video_url", "thumbnail_url", "output_attempts")
    store = outputs_in(ctx.blobs, settings)
    # Its own client: the files are on Higgsfield's storage, never sent our credentials; CDNs redirect.
    timeout = httpx.Timeout(settings.hf_timeout_seconds)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as http:
        results = await asyncio.gather(
            *(copy_one(ctx, http, store, token, row) for row in rows), return_exceptions=True
        )
    for row, outcome in zip(rows, results, strict=True):
        if isinstance(outcome, BaseException):  # its claim runs out and a later round tries again
            logger.error("The copy of task %s could not be processed", row["id"], exc_info=outcome)
    if len(ids) == settings.output_concurrency:
        more()
    return len(ids)
