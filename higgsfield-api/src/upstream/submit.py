"""Submit job: hands pending tasks to Higgsfield, fairly and within each account's concurrency cap.

A task goes pending --claim--> (upload) --> submitting --DoP--> queued. `submitting` is written
before the paid call, so a crash in that window is seen afterwards and the task is never sent
twice blindly (see src/upstream/tidy_up.py).
"""

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from src.core.clock import utcnow
from src.core.config import reveal
from src.db.models import Client, DispatchState, Task, TaskStatus
from src.jobs import leases
from src.jobs.claims import claim_batch, lease_free, new_claim_token, update_claimed
from src.jobs.context import JobContext
from src.metrics import prometheus as metrics
from src.tasks import image_store, transitions
from src.tasks.schemas import TaskFields
from src.upstream import webhooks
from src.upstream.accounts import HiggsfieldAccount, busy_slots
from src.upstream.errors import AccountRefused, ConcurrencyCapReached, UpstreamPermanent, UpstreamTransient
from src.upstream.generations import Submission
from src.upstream.upload_ahead import upload_ahead

logger = logging.getLogger(__name__)

UNKNOWN_OUTCOME = (
    "The service stopped while sending this task to Higgsfield and cannot tell whether Higgsfield "
    "received it; it was not sent again, so it cannot have been charged twice. Please create a new task."
)
# A pending task whose blob is gone: it cannot be sent (on several hosts, BLOB_DIR is not shared).
MISSING_IMAGE = (
    "The task's stored image could not be found, so it was never sent to Higgsfield; please create it again"
)
# After Higgsfield's concurrency 400 with no task of ours ending (the account's slots may be
# taken by jobs we do not follow), try again after this many poll intervals, at most 2 minutes.
CAP_RETRY_POLLS = 6
CAP_RETRY_MAX = timedelta(minutes=2)
# What became of a claimed task: sent (Higgsfield has it), done with otherwise (failed, retried
# later, canceled), or handed back because the account is full or was refused (paused).
SENT, HANDLED, FULL, REFUSED = "sent", "handled", "full", "refused"


async def claim_next(ctx: JobContext, token: str) -> uuid.UUID | None:
    """The oldest due task of the client served least recently (round robin across clients)."""
    due = Q(status=TaskStatus.PENDING, next_attempt_at__lte=utcnow())
    for _ in range(3):  # another worker may win the row between the read and the claim
        head = await (
            Task.filter(due, lease_free(utcnow()), client__disabled_at=None)
            .order_by("client__last_dispatched_at", "created_at")
            .limit(1)
            .values_list("id", "client_id")
        )
        if not head:
            return None
        task_id, client_id = head[0]
        if await claim_batch(
            filters=Q(due, id=task_id),
            order_by=("id",),
            limit=1,
            token=token,
            lease_seconds=ctx.settings.lease_seconds,
        ):
            await Client.filter(id=client_id).update(last_dispatched_at=utcnow())
            return task_id
    return None


def submission(ctx: JobContext, task: Task) -> Submission:
    stored = {name: getattr(task, name) for name in TaskFields.model_fields}
    return Submission(
        fields=TaskFields.model_construct(**stored),  # as it was checked when it was stored
        image_url=str(task.image_url),
        motion_id=task.motion_id,
        webhook_url=webhooks.url_for(ctx.settings, task.id),
        webhook_secret=reveal(ctx.settings.hf_webhook_secret),
    )


async def submit_one(ctx: JobContext, task_id: uuid.UUID, token: str, account: HiggsfieldAccount) -> str:
    """Uploads and submits one task claimed for `account`; says what became of it (SENT, ...)."""
    task = await Task.get(id=task_id)
    upstream = account.default
    version = upstream.generation.version
    poll = timedelta(seconds=ctx.settings.poll_interval_seconds)
    try:
        if not task.image_url:
            image = await image_store.load(ctx.blobs, task)
            if image is None:  # canceled meanwhile: its image went with it
                await transitions.fail_claimed(ctx.blobs, task_id, token, MISSING_IMAGE)  # no-op if canceled
                return HANDLED
            task.image_url = await upstream.upload_image(*image)
            await update_claimed(task_id, token, release=False, image_url=task.image_url)
        # The intent is on record before the paid call; a cancel or a lost lease stops us here.
        if not await transitions.start_submitting(task_id, token, version):
            return HANDLED
        request_id = await upstream.submit(submission(ctx, task))
    except ConcurrencyCapReached:  # backpressure, not the task's fault: no attempt is counted
        await transitions.retry_later(task_id, token, attempts=task.attempts, at=utcnow() + poll)
        return FULL
    except AccountRefused:  # not taken (the account is paused now): due again, for another account
        await transitions.retry_later(task_id, token, attempts=task.attempts, at=utcnow())
        return REFUSED
    except UpstreamTransient as exc:
        if not exc.maybe_delivered:
            logger.warning("Submission of task %s will be retried: %s", task_id, exc)
            attempts = task.attempts + 1
            await transitions.retry_later(
                task_id, token, attempts=attempts, at=utcnow() + ctx.backoff(attempts)
            )
            return HANDLED
        # Never resend. With Higgsfield webhooks on, wait for one naming the task (see tidy_up.py).
        logger.error("Submission of task %s has an unknown outcome: %s", task_id, exc)
        if ctx.settings.hf_webhook_url:
            await update_claimed(task_id, token, lease_until=utcnow(), release=False)
        elif await transitions.fail_claimed(ctx.blobs, task_id, token, UNKNOWN_OUTCOME):
            metrics.observe_given_up("unknown_outcome", 1)
        return HANDLED
    except UpstreamPermanent as exc:
        logger.warning("Higgsfield refused task %s: %s", task_id, exc)
        await transitions.fail_claimed(ctx.blobs, task_id, token, f"Higgsfield refused the task: {exc}")
        return HANDLED
    await transitions.submitted(
        ctx.blobs, task_id, token, request_id=request_id, attempts=task.attempts + 1, poll_at=utcnow() + poll
    )
    logger.info(
        "Task %s submitted to Higgsfield (%s, account %s) as %s", task_id, version, account.name, request_id
    )
    return SENT


@dataclass
class Dispatcher:
    """The submit job: each round fills the free slots of every account, each within its own cap,
    then sends the claimed tasks concurrently. One process dispatches at a time (the `dispatch`
    lease), so no cap can be exceeded. A paused account (Higgsfield refused it) gets nothing until
    its pause runs out. Higgsfield's own concurrency 400 is backpressure: the account's
    `dispatch_state` row, shared by every process, holds sends to it back until one of its tasks
    ends or a while has passed."""

    name = leases.DISPATCH
    ctx: JobContext

    async def run(self) -> int:
        """One round; returns how many tasks it handled. Every new task nudges a round, so a round
        that finds every slot taken stops after one read, without taking the lease (a write)."""
        ctx = self.ctx
        takers = ctx.higgsfield.takers
        busy = await busy_slots()
        if all(busy.get(account.name, 0) >= account.cap for account in takers):
            return 0
        if not await leases.acquire(self.name, ctx.worker_id, ctx.settings.lease_seconds):
            return 0  # another process is dispatching right now
        try:
            # Counted again under the lease: the count read before it may be stale by now.
            busy = await busy_slots()
            paused = await ctx.higgsfield.paused()
            free = await self._free_slots(takers, busy, paused)
            token = new_claim_token(ctx.worker_id)
            claimed: list[tuple[uuid.UUID, HiggsfieldAccount]] = []
            while any(free.values()) and (task_id := await claim_next(ctx, token)):
                # The account with the most free slots (the first configured of those tied).
                account = max(takers, key=lambda a: free.get(a.name, 0))
                free[account.name] -= 1
                await update_claimed(task_id, token, release=False, upstream_account=account.name)
                claimed.append((task_id, account))
            # The next tasks' images go up meanwhile: the slot that frees next costs a submission only.
            sending = asyncio.gather(*(submit_one(ctx, task_id, token, a) for task_id, a in claimed))
            results, _ = await asyncio.gather(sending, upload_ahead(ctx, takers, paused))
            outcomes = list(zip((account for _, account in claimed), results, strict=True))
            for account in {account for account, result in outcomes if result == FULL}:
                await self._hold_back(account)
            # An account whose pause had run out took a task: it is active again.
            for account in {
                account for account, result in outcomes if result == SENT and account.name in paused
            }:
                await ctx.higgsfield.resumed(account.name, paused[account.name])
            return sum(result in (SENT, HANDLED) for result in results)
        finally:
            await leases.release(self.name, ctx.worker_id)

    async def _free_slots(
        self, takers: list[HiggsfieldAccount], busy: dict[str | None, int], paused: dict[str, datetime]
    ) -> dict[str, int]:
        """Free slots per account: none for a paused account, nor for one Higgsfield said is full
        while that still holds (none of its tasks has ended since, the retry time has not come).
        A "full" that no longer holds is forgotten."""
        now = utcnow()
        free = {account.name: max(0, account.cap - busy.get(account.name, 0)) for account in takers}
        for name, paused_at in paused.items():
            if name in free and self.ctx.higgsfield.is_paused(paused_at, now):
                free[name] = 0
        for state in await DispatchState.filter(name__in=list(free), full_at__isnull=False):
            full_at, until = state.full_at or 0, state.full_until
            if busy.get(state.name, 0) >= full_at and until is not None and now < until:
                free[state.name] = 0
            else:
                await DispatchState.filter(name=state.name).update(full_at=None, full_until=None)
        return free

    async def _hold_back(self, account: HiggsfieldAccount) -> None:
        poll = timedelta(seconds=CAP_RETRY_POLLS * self.ctx.settings.poll_interval_seconds)
        full_at = (await busy_slots()).get(account.name, 0)
        values = {"full_at": full_at, "full_until": utcnow() + min(CAP_RETRY_MAX, poll)}
        await DispatchState.update_or_create(values, name=account.name)
