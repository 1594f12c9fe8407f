"""What keeps the service steady under volume: poll rounds that end, uploads within a memory budget."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from src.core.clock import utcnow
from src.db.models import Task, TaskStatus
from src.jobs.context import JobContext
from src.upstream.accounts import Accounts
from src.upstream.http_pool import ShardedHttp
from src.upstream.poll import poll_in_flight
from src.web.upload_budget import ByteBudget
from tests.support.app import register

IN_FLIGHT = 5


async def test_a_poll_round_reads_each_due_task_once_even_when_it_outlasts_the_interval(service):
    """Batches of one and an interval far shorter than a read: a task read early in the round is
    due again before the round ends. The round still ends, having read each task once."""
    service.state["jobs"].scheduler.pause()
    client_id = (await register(service.client))["client_id"]
    service.fake.settings.reads_per_step = None  # jobs stay queued: every read changes nothing
    jobs = [
        service.fake.submit({"params": {}}, "steady", version="v1", path="/v1/image2video/dop")
        for _ in range(IN_FLIGHT)
    ]
    now = utcnow()
    for job in jobs:
        await Task.create(
            id=uuid.uuid4(),
            client_id=client_id,
            status=TaskStatus.QUEUED,
            prompt="steady",
            motion="GENERAL",
            motion_id="general",
            model="lite",
            duration=5,
            motion_strength=0.5,
            upstream_job_id=job.job_set_id,
            upstream_account="default",
            submitted_at=now,
            next_attempt_at=now,
        )
    settings = service.settings.model_copy(
        update={"poll_batch_size": 1, "poll_interval_seconds": 1e-6, "poll_concurrency": 2}
    )
    reads_before = service.fake.job_set_reads
    async with httpx.AsyncClient(timeout=5) as http:
        ctx = JobContext(settings, Accounts.from_settings(http, settings), service.state["blobs"])
        read = await asyncio.wait_for(poll_in_flight(ctx), timeout=30)  # a guard against a hang only
    assert read == IN_FLIGHT
    assert service.fake.job_set_reads - reads_before == IN_FLIGHT
    assert await Task.filter(lease_owner__isnull=False).count() == 0  # every claim released


async def test_the_sharded_client_spreads_calls_and_keeps_room_for_all(fake):
    async with ShardedHttp(100, timeout=5) as http:
        assert len(http.clients) > 1
        answers = await asyncio.gather(*(http.request("GET", f"{fake.url}/v1/motions") for _ in range(3)))
    assert {answer.status_code for answer in answers} == {401}  # reached the fake (no credentials sent)


async def test_an_upload_waits_until_the_byte_budget_has_room():
    budget = ByteBudget(10)
    entered = asyncio.Event()

    async def second() -> None:
        async with budget.hold(5):
            entered.set()

    async with budget.hold(8):
        waiting = asyncio.create_task(second())
        for _ in range(10):
            await asyncio.sleep(0)
        assert not entered.is_set()
    await asyncio.wait_for(waiting, timeout=10)
    assert entered.is_set() and budget.free == 10
    async with budget.hold(100):  # more than the whole budget: it takes all of it, and goes through
        assert budget.free == 0
