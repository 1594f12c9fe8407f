"""Fair, capped dispatch, and a flaky upstream: every task ends, none is sent twice."""

from __future__ import annotations

from collections import Counter

import httpx

from src.core.clock import utcnow
from src.db.models import DispatchState, Task
from src.jobs.context import JobContext
from src.tasks import service as tasks
from src.upstream.accounts import Accounts
from src.upstream.submit import Dispatcher
from tests.support.app import eventually, make_settings, register, running_app
from tests.support.tasks import new_task

I2V = "/api/higgsfield/i2v/"
FINAL = ("completed", "failed", "nsfw", "canceled")


async def test_one_clients_burst_does_not_starve_another(db_url, fake):
    """A enqueues 50, then B enqueues 1, with two slots: B goes out within the next few."""
    fake.settings.reads_per_step = 2
    settings = make_settings(db_url, fake.url, hf_max_concurrency=2)
    async with running_app(settings) as (state, client):
        a = await register(client, "client-a")
        b = await register(client, "client-b")
        for n in range(50):
            await tasks.create(a["client_id"], new_task(f"a-{n}"), state["blobs"])
        state["jobs"].submit.nudge()
        await eventually(lambda: _submitted(fake, 2), what="A's first dispatches")
        b_task = await tasks.create(b["client_id"], new_task("b-0"), state["blobs"])
        before = len(fake.submissions)  # counted once B's task is there to be chosen
        state["jobs"].submit.nudge()
        await eventually(lambda: _has_prompt(fake, "b-0"), within=30, what="B's task to be sent")
        position = fake.prompts.index("b-0")
        assert position - before <= 1, (before, position)
        assert fake.max_live_jobs <= 2
        # The fake records a submission before it answers; the task leaves `submitting`
        # once the service has stored that answer.
        await eventually(lambda: _accepted(b_task["id"]), what="B's task to be accepted upstream")


async def _accepted(task_id: str) -> bool:
    return (await Task.get(id=task_id)).status in ("queued", "in_progress", "completed")


async def _submitted(fake, n: int) -> bool:
    return len(fake.submissions) >= n


async def _has_prompt(fake, prompt: str) -> bool:
    return prompt in fake.prompts


async def test_round_robin_takes_clients_in_turn_oldest_first(db_url, fake):
    fake.settings.reads_per_step = 1
    settings = make_settings(db_url, fake.url, hf_max_concurrency=1)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        clients = [await register(client, name) for name in ("cl1", "cl2", "cl3")]
        for n in range(3):
            for c in clients:
                await tasks.create(c["client_id"], new_task(f"{c['login']}-{n}"), state["blobs"])
        state["jobs"].scheduler.resume()
        state["jobs"].submit.nudge()
        await eventually(lambda: _submitted(fake, 9), within=30, what="all nine tasks")
    prompts = fake.prompts
    assert [p.split("-")[1] for p in prompts] == ["0"] * 3 + ["1"] * 3 + ["2"] * 3  # oldest first
    for turn in range(3):  # each client once per turn
        assert sorted(p.split("-")[0] for p in prompts[turn * 3 : turn * 3 + 3]) == ["cl1", "cl2", "cl3"]
    assert fake.max_live_jobs == 1


async def test_a_flaky_upstream_still_ends_every_task_and_sends_each_once(db_url, fake):
    """30 % of calls fail (5xx, 429, timeouts) and the account's cap is below ours.

    Jobs advance on the sandbox's clock, not on our reads, as real ones do: a job whose DoP
    answer timed out (its task ends `failed`, outcome unknown) still ends and frees its slot."""
    fake.settings.reads_per_step, fake.settings.job_seconds = None, 0.4
    fake.settings.max_concurrency = 3
    fake.set_fault_rate(0.3, seed=7, statuses=(500, 502, 503, 429, None), hang_seconds=0.6)
    settings = make_settings(
        db_url, fake.url, hf_max_concurrency=5, hf_timeout_seconds=0.3, poll_interval_seconds=0.05
    )
    async with running_app(settings) as (state, client):
        owner = await register(client, "stress")
        ids = [
            (await tasks.create(owner["client_id"], new_task(f"t{n}"), state["blobs"]))["id"]
            for n in range(100)
        ]
        state["jobs"].submit.nudge()
        await eventually(lambda: _all_final(ids), within=240, what="all 100 tasks to end")
        statuses = Counter(await Task.filter(id__in=ids).values_list("status", flat=True))
    assert sum(statuses.values()) == 100 and set(statuses) <= set(FINAL), statuses
    prompts = Counter(fake.prompts)
    assert max(prompts.values()) == 1  # no task reached Higgsfield twice
    assert statuses["completed"] >= 80, statuses
    assert fake.max_live_jobs <= 3


async def _all_final(ids: list) -> bool:
    return await Task.filter(id__in=ids, status__in=FINAL).count() == len(ids)


async def test_higgsfields_full_is_kept_in_the_database_for_every_process(db_url, fake):
    """A job of the same account run elsewhere takes its one slot. The dispatcher that meets
    Higgsfield's concurrency 400 records it in `dispatch_state`; another process's dispatcher
    (its own context and worker id, the same database) reads it there and sends nothing until the
    retry time has passed; then it forgets it and sends."""
    fake.settings.max_concurrency = 1
    fake.settings.reads_per_step = None
    elsewhere = fake.submit({"params": {}}, "not ours", version="v2", path="/v2/image2video/dop")
    settings = make_settings(db_url, fake.url, hf_max_concurrency=3, poll_interval_seconds=60)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        owner = await register(client, "patient")
        task = await tasks.create(owner["client_id"], new_task("waits"), state["blobs"])
        async with httpx.AsyncClient(timeout=5) as http:
            one, other = (
                Dispatcher(JobContext(settings, Accounts.from_settings(http, settings), state["blobs"]))
                for _ in range(2)
            )
            assert await one.run() == 0  # the 400: the task is pending again, not failed
            full = await DispatchState.get(name="default")
            assert full.full_at == 0 and full.full_until > utcnow()
            await Task.filter(id=task["id"]).update(next_attempt_at=utcnow())  # due again at once
            submissions = len(fake.submissions)
            assert await other.run() == 0
            assert len(fake.submissions) == submissions
            assert (await Task.get(id=task["id"])).lease_owner is None  # not even claimed
            fake.finish(elsewhere.job_set_id)
            await DispatchState.filter(name="default").update(full_until=utcnow())  # as if it had passed
            assert await other.run() == 1
        assert (await DispatchState.get(name="default")).full_at is None
        assert (await Task.get(id=task["id"])).status == "queued"
    assert len(fake.submissions) == submissions + 1


async def test_a_round_uploads_the_next_tasks_images_ahead_and_none_twice(db_url, fake):
    """With two slots and three clients' tasks, a round sends the first two in line and uploads
    the images of the next two (the third client's, then the first's second), which are later sent
    without a second upload."""
    fake.settings.reads_per_step = 1
    settings = make_settings(db_url, fake.url, hf_max_concurrency=2)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        clients = [await register(client, name) for name in ("up1", "up2", "up3")]
        for n in range(2):
            for c in clients:
                await tasks.create(c["client_id"], new_task(f"{c['login']}-{n}"), state["blobs"])
        await state["jobs"].submit.run()
        assert sorted(fake.prompts) == ["up1-0", "up2-0"]
        ahead = Task.filter(status="pending", image_url__isnull=False)
        assert sorted(await ahead.values_list("prompt", flat=True)) == ["up1-1", "up3-0"]
        assert len(fake.uploads) == 4
        state["jobs"].scheduler.resume()
        await eventually(lambda: _submitted(fake, 6), within=30, what="all six tasks")
    assert len(fake.uploads) == 6
    assert len(set(fake.image_urls)) == 6
