"""Images uploaded before their task's turn, so that a freed Higgsfield slot costs one submission,
not an upload and then a submission.

Each dispatch round, beside its submissions, uploads the images of the tasks next in line (as
`claim_next` will take them: clients by their last dispatch, in turns, each its oldest first), at
most as many as the accounts taking tasks have slots, and stores the public URL on the task. The
uploads go through the first of those accounts that is not paused: a task's account is chosen
when it is claimed, and the URL Higgsfield gives an upload is public. The submit job sends a
pending task that has an `image_url` without uploading it again. The round runs under the
`dispatch` lease, so no other process claims these tasks meanwhile; the URL is written only while
the task is still pending, unclaimed and without one, so nothing is uploaded twice.
"""

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from itertools import zip_longest

from tortoise.expressions import Q

from src.core.clock import utcnow
from src.db.models import Task, TaskStatus
from src.jobs.claims import lease_free
from src.jobs.context import JobContext
from src.tasks import image_store
from src.upstream.accounts import HiggsfieldAccount
from src.upstream.client import HiggsfieldClient
from src.upstream.errors import UpstreamError

logger = logging.getLogger(__name__)


async def next_in_line(count: int) -> list[uuid.UUID]:
    """The due pending tasks the next `count` claims would take, in that order."""
    now = utcnow()
    due = Q(Q(status=TaskStatus.PENDING, next_attempt_at__lte=now, client__disabled_at=None), lease_free(now))
    clients = await (
        Task.filter(due)
        .order_by("client__last_dispatched_at", "client_id")
        .distinct()
        .limit(count)
        .values_list("client_id", "client__last_dispatched_at")
    )
    per_client = -(-count // max(len(clients), 1))
    queues = [
        await Task.filter(due, client_id=client_id)
        .order_by("created_at")
        .limit(per_client)
        .values_list("id", flat=True)
        for client_id, _ in clients
    ]
    turns = (task_id for turn in zip_longest(*queues) for task_id in turn if task_id is not None)
    return [task_id for _, task_id in zip(range(count), turns, strict=False)]


async def _upload(ctx: JobContext, uploader: HiggsfieldClient, task_id: uuid.UUID) -> bool:
    task = await Task.get(id=task_id)
    image = await image_store.load(ctx.blobs, task)
    if image is None:  # canceled meanwhile
        return False
    try:
        url = await uploader.upload_image(*image)
    except UpstreamError as exc:  # the submit job uploads it when the task's turn comes
        logger.warning("Uploading the image of task %s ahead failed: %s", task_id, exc)
        return False
    now = utcnow()
    still_waiting = Q(Q(id=task_id, status=TaskStatus.PENDING, image_url=None), lease_free(now))
    return bool(await Task.filter(still_waiting).update(image_url=url))


async def upload_ahead(
    ctx: JobContext, takers: Sequence[HiggsfieldAccount], paused: dict[str, datetime]
) -> int:
    """Uploads the images of the next tasks in line that have none uploaded; returns how many.
    It never fails the round it runs in: what it could not upload is uploaded in its turn."""
    now = utcnow()
    active = [account for account in takers if not ctx.higgsfield.is_paused(paused.get(account.name), now)]
    if not active:
        return 0
    try:
        ids = await next_in_line(sum(account.cap for account in takers))
        todo = await Task.filter(id__in=ids, image_url=None).values_list("id", flat=True)
        uploads = (_upload(ctx, active[0].default, task_id) for task_id in todo)
        outcomes = await asyncio.gather(*uploads, return_exceptions=True)
    except Exception:
        logger.exception("Uploading images ahead failed")
        return 0
    for task_id, outcome in zip(todo, outcomes, strict=True):
        if isinstance(outcome, Exception):
            logger.error("Uploading the image of task %s ahead failed", task_id, exc_info=outcome)
    return sum(outcome is True for outcome in outcomes)
