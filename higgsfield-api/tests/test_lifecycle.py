"""A task's life against a fake Higgsfield served over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest

from src.core.clock import utcnow
from src.db.models import Task, TaskStatus
from src.jobs.context import JobContext
from src.tasks import service as tasks
from src.upstream.accounts import Accounts
from src.upstream.submit import UNKNOWN_OUTCOME, Dispatcher
from src.upstream.tidy_up import tidy_up
from tests.support.app import GENERATIONS, eventually, make_settings, register, running_app
from tests.support.images import image_bytes, png
from tests.support.tasks import has_image, new_task

I2V = "/api/higgsfield/i2v/"
both_generations = pytest.mark.parametrize("api_version", GENERATIONS)


async def create(service, key: str, **data) -> dict:
    image = data.pop("image", png())
    response = await service.client.post(
        I2V, headers={"X-API-KEY": key}, files={"image": ("in.png", image, "image/png")}, data=data
    )
    assert response.status_code == 202, response.text
    return response.json()


async def final(client, key: str, task_id: str, within: float = 15) -> dict:
    async def done() -> dict | None:
        task = (await client.get(f"{I2V}{task_id}", headers={"X-API-KEY": key})).json()
        return task if task["status"] in ("completed", "failed", "nsfw", "canceled") else None

    return await eventually(done, within=within, what=f"task {task_id} to end")


@both_generations
async def test_a_task_completes_with_its_video_and_thumbnail(service, api_key, api_version):
    image = image_bytes("JPEG", (128, 96))
    task = await create(service, api_key, image=image, prompt="a slow pan", metadata=json.dumps({"order": 1}))
    done = await final(service.client, api_key, task["id"])
    assert done["status"] == "completed"
    assert done["video_url"].startswith(service.fake.url) and done["video_url"].endswith(".mp4")
    assert done["thumbnail_url"].startswith(service.fake.url)
    assert done["completed_at"] and done["error"] is None
    assert done["metadata"] == {"order": 1}
    # What reached Higgsfield: the client's bytes and type; the job through the configured generation.
    assert service.fake.uploads == [(image, "image/jpeg")]
    [job] = service.fake.jobs()
    assert job.version == api_version
    assert (await Task.get(id=task["id"])).upstream_api == api_version
    # The stored image is dropped once Higgsfield has it.
    assert not await has_image(service.state["blobs"], task["id"])


@pytest.mark.parametrize("api_version", ["v1"])
async def test_v1_sends_the_dop_params_with_the_motion_mapped(service, api_key):
    await create(
        service,
        api_key,
        prompt="a slow pan",
        motion="crash zoom in",
        model="turbo",
        motion_strength="0.8",
        seed="7",
        enhance_prompt="true",
    )
    await eventually(lambda: _count(service, 1), what="the submission")
    [job] = service.fake.jobs()
    assert job.path == "/v1/image2video/dop"
    params = job.body["params"]
    crash_zoom_in = next(m.id for m in service.fake.settings.motions if m.name == "Crash Zoom In")
    assert params["model"] == "dop-turbo"
    assert params["motions"] == [{"id": crash_zoom_in, "strength": 0.8}]
    assert params["prompt"] == "a slow pan"
    assert params["seed"] == 7 and params["enhance_prompt"] is True
    assert params["input_images"][0]["type"] == "image_url"
    assert params["input_images"][0]["image_url"].startswith(service.fake.url)
    assert "duration" not in params  # DoP documents no duration field on v1


async def test_v2_sends_the_flat_body_to_the_model_path(service, api_key):
    await create(
        service,
        api_key,
        prompt="a slow pan",
        motion="crash zoom in",
        model="standard",
        duration="3",
        motion_strength="0.8",
        seed="7",
        enhance_prompt="true",
    )
    await eventually(lambda: _count(service, 1), what="the submission")
    [job] = service.fake.jobs()
    assert job.path == "/higgsfield-ai/dop/standard"
    # Exactly the fields v2 documents: no motion (v2 has no such field), no v1 `params`.
    assert set(job.body) == {"image_url", "prompt", "duration", "seed"}
    assert job.body["prompt"] == "a slow pan" and job.body["duration"] == 3 and job.body["seed"] == 7
    assert job.body["image_url"].startswith(service.fake.url)
    assert job.query == {}  # no webhook configured: no hf_webhook


@pytest.mark.parametrize("api_version", ["v1"])
async def test_each_model_maps_to_its_dop_model_on_v1(service, api_key):
    for model in ("lite", "standard", "turbo"):
        await create(service, api_key, model=model)
    await eventually(lambda: _count(service, 3), what="three submissions")
    assert sorted(s["params"]["model"] for s in service.fake.submissions) == [
        "dop-lite",
        "dop-standard",
        "dop-turbo",
    ]


async def test_each_model_goes_to_its_v2_model_path(service, api_key):
    for model in ("lite", "standard"):
        await create(service, api_key, model=model)
    await eventually(lambda: _count(service, 2), what="two submissions")
    assert sorted(job.path for job in service.fake.jobs()) == [
        "/higgsfield-ai/dop/preview",
        "/higgsfield-ai/dop/standard",
    ]


async def test_a_model_without_a_v2_path_is_a_422_naming_the_allowed_ones(service, api_key):
    response = await service.client.post(
        I2V,
        headers={"X-API-KEY": api_key},
        files={"image": ("in.png", png(), "image/png")},
        data={"model": "turbo"},
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "model"]
    assert "allowed: lite, standard" in error["msg"]
    assert await Task.all().count() == 0


async def test_an_operator_points_a_model_name_at_a_v2_path(db_url, fake):
    settings = make_settings(db_url, fake.url, hf_v2_models={"turbo": "higgsfield-ai/dop/preview"})
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        response = await client.post(
            I2V,
            headers={"X-API-KEY": key},
            files={"image": ("in.png", png(), "image/png")},
            data={"model": "turbo"},
        )
        assert response.status_code == 202, response.text
        await eventually(lambda: _count_fake(fake, 1), what="the submission")
    assert [job.path for job in fake.jobs()] == ["/higgsfield-ai/dop/preview"]


async def _count(service, n: int) -> bool:
    return len(service.fake.submissions) >= n


async def _count_fake(fake, n: int) -> bool:
    return len(fake.submissions) >= n


@both_generations
async def test_nsfw_and_failed_jobs_end_with_a_reason(service, api_key, api_version):
    nsfw = await create(service, api_key, prompt="something NSFW")
    failed = await create(service, api_key, prompt="make it explode")
    nsfw_done = await final(service.client, api_key, nsfw["id"])
    failed_done = await final(service.client, api_key, failed["id"])
    assert nsfw_done["status"] == "nsfw" and "NSFW" in nsfw_done["error"]
    assert failed_done["status"] == "failed" and "Higgsfield" in failed_done["error"]
    assert nsfw_done["video_url"] is None and failed_done["video_url"] is None
    if api_version == "v2":  # v2 says why a job failed: its error reaches the task
        assert "asked to explode" in failed_done["error"]


@both_generations
async def test_a_task_is_canceled_before_and_after_higgsfield_has_it(service, api_key, api_version):
    """Pending: canceled here on both generations. Queued at Higgsfield: canceled there on v2
    (only once Higgsfield said 202); v1 has no cancel, a 409."""
    service.fake.fail_next("upload_url", [503] * 1000)  # Higgsfield is down: the first task waits
    pending = await create(service, api_key)
    response = await service.client.post(f"{I2V}{pending['id']}/cancel", headers={"X-API-KEY": api_key})
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    service.fake.reset()
    service.fake.settings.reads_per_step = None  # jobs stay queued until told
    queued = await create(service, api_key)

    async def is_queued() -> bool:
        task = (await service.client.get(f"{I2V}{queued['id']}", headers={"X-API-KEY": api_key})).json()
        return task["status"] == "queued"

    await eventually(is_queued, what="the second task to be queued")
    response = await service.client.post(f"{I2V}{queued['id']}/cancel", headers={"X-API-KEY": api_key})
    if api_version == "v2":
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "canceled"
        assert [job.status for job in service.fake.jobs()] == ["canceled"]
    else:
        assert response.status_code == 409
        assert [job.status for job in service.fake.jobs()] == ["queued"]
    assert [s for s in service.fake.prompts] == [""]  # the pending one was never sent


async def test_transient_upstream_errors_are_retried_until_success(service, api_key):
    service.fake.fail_next("upload_url", [500, 429])
    service.fake.fail_next("put", [503])
    service.fake.fail_next("dop", [502, 408, 429])
    service.fake.fail_next("job_set", [500, 503])
    task = await create(service, api_key)
    done = await final(service.client, api_key, task["id"], within=30)
    assert done["status"] == "completed"
    assert len(service.fake.submissions) == 1
    assert (await Task.get(id=task["id"])).attempts >= 3


async def test_a_refusal_of_the_task_by_higgsfield_fails_it_with_its_reason(service, api_key):
    """A refusal of the task itself (a 4xx other than the account's 401/403: see test_accounts.py)."""
    service.fake.fail_next("dop", [422], detail="The image is too small")
    task = await create(service, api_key)
    done = await final(service.client, api_key, task["id"])
    assert done["status"] == "failed"
    assert "The image is too small" in done["error"]
    assert service.fake.submissions == []


async def test_the_concurrency_cap_is_backpressure_not_failure(db_url, fake):
    fake.settings.max_concurrency = 1
    settings = make_settings(db_url, fake.url, hf_max_concurrency=3)  # more than the account allows
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        ids = []
        for _ in range(3):
            response = await client.post(
                I2V, headers={"X-API-KEY": key}, files={"image": ("a.png", png(), "image/png")}
            )
            ids.append(response.json()["id"])
        results = [await final(client, key, task_id, within=30) for task_id in ids]
    assert [task["status"] for task in results] == ["completed"] * 3
    assert fake.max_live_jobs == 1
    assert len(fake.submissions) == 3


async def test_no_more_than_hf_max_concurrency_tasks_are_upstream(db_url, fake):
    fake.settings.reads_per_step = 3
    settings = make_settings(db_url, fake.url, hf_max_concurrency=2)
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        ids = [
            (
                await client.post(
                    I2V, headers={"X-API-KEY": key}, files={"image": ("a.png", png(), "image/png")}
                )
            ).json()["id"]
            for _ in range(6)
        ]
        results = [await final(client, key, task_id, within=30) for task_id in ids]
    assert {task["status"] for task in results} == {"completed"}
    assert fake.max_live_jobs == 2
    assert len(fake.submissions) == 6


async def test_a_pending_task_is_sent_after_a_restart(db_url, fake):
    """Accepted while Higgsfield is down, then the process stops: the next one sends it."""
    fake.fail_next("upload_url", [503] * 10_000)
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        response = await client.post(
            I2V, headers={"X-API-KEY": key}, files={"image": ("a.png", png(), "image/png")}
        )
        task_id = response.json()["id"]
        await eventually(lambda: _upload_tried(fake), what="a first upload attempt")
    assert fake.submissions == []

    fake.reset()
    async with running_app(settings) as (_app, client):
        done = await final(client, key, task_id, within=30)
    assert done["status"] == "completed"
    assert len(fake.submissions) == 1


async def _upload_tried(fake) -> bool:
    return fake.calls["upload_url"] > 0


async def test_an_unanswered_submission_is_never_sent_again(db_url, fake):
    """Higgsfield takes the job but the answer never arrives: the outcome is unknown, so the task
    fails with a clear reason instead of risking a second paid job."""
    settings = make_settings(db_url, fake.url, hf_timeout_seconds=1.0)
    fake.hang_next("dop", 2.5, after=True)
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        response = await client.post(
            I2V, headers={"X-API-KEY": key}, files={"image": ("a.png", png(), "image/png")}
        )
        done = await final(client, key, response.json()["id"], within=20)
        await asyncio.sleep(0.5)  # more scheduler rounds: still no second submission
    assert done["status"] == "failed"
    assert done["error"] == UNKNOWN_OUTCOME
    assert len(fake.submissions) == 1


async def test_a_submission_cut_off_by_a_crash_is_failed_not_resent(service, api_key):
    task = await create(service, api_key)
    await final(service.client, api_key, task["id"])
    # Make a second task look like a crashed worker left it mid-submission.
    other = await create(service, api_key)
    await final(service.client, api_key, other["id"])
    await Task.filter(id=other["id"]).update(
        status=TaskStatus.SUBMITTING,
        upstream_job_id=None,
        completed_at=None,
        lease_owner="dead-worker",
        lease_until=utcnow() - timedelta(seconds=1),
    )
    submissions = len(service.fake.submissions)
    done = await final(service.client, api_key, other["id"])
    assert done["status"] == "failed" and done["error"] == UNKNOWN_OUTCOME
    assert len(service.fake.submissions) == submissions


async def test_two_schedulers_on_one_database_submit_each_task_once(service):
    """Two workers racing over the same rows: the claims let exactly one send each task."""
    service.state["jobs"].scheduler.pause()
    client_id = (await register(service.client))["client_id"]
    new = new_task()
    ids = [(await tasks.create(client_id, new, service.state["blobs"]))["id"] for _ in range(8)]
    settings = service.settings.model_copy(update={"hf_max_concurrency": 100})
    async with httpx.AsyncClient(timeout=5) as http:
        blobs = service.state["blobs"]
        dispatchers = [
            Dispatcher(JobContext(settings, Accounts.from_settings(http, settings), blobs)) for _ in range(2)
        ]
        for _ in range(3):
            await asyncio.gather(*(dispatcher.run() for dispatcher in dispatchers for _ in range(2)))
    assert await Task.filter(id__in=ids, status=TaskStatus.QUEUED).count() == len(ids)
    images = service.fake.image_urls
    assert len(images) == len(ids) == len(set(images))


async def test_a_round_with_every_slot_taken_claims_nothing_and_leaves_the_tidy_up_to_its_job(service):
    """Every create nudges a round: with the upstream slots all taken it stops after one read
    (no claim, no send). A submission lost in a crash is the tidy-up's, a job of its own that
    runs on the submit interval: a dispatch round never touches it."""
    jobs = service.state["jobs"]
    jobs.scheduler.pause()
    tidy_up_job = jobs.scheduler.get_job("tidy-up")
    assert tidy_up_job.trigger.interval.total_seconds() == service.settings.submit_interval
    client_id = (await register(service.client))["client_id"]
    new = new_task()
    busy, waiting, lost = [
        (await tasks.create(client_id, new, service.state["blobs"]))["id"] for _ in range(3)
    ]
    await Task.filter(id=busy).update(
        status=TaskStatus.QUEUED, upstream_job_id="js-1", upstream_account="default"
    )
    await Task.filter(id=lost).update(
        status=TaskStatus.SUBMITTING,
        upstream_account="default",
        lease_owner="dead",
        lease_until=utcnow() - timedelta(seconds=1),
    )
    settings = service.settings.model_copy(update={"hf_max_concurrency": 2})
    async with httpx.AsyncClient(timeout=5) as http:
        ctx = JobContext(settings, Accounts.from_settings(http, settings), service.state["blobs"])
        submissions = len(service.fake.submissions)
        assert await Dispatcher(ctx).run() == 0
        assert (await Task.get(id=lost)).status == TaskStatus.SUBMITTING
        unclaimed = await Task.get(id=waiting)
        assert unclaimed.status == TaskStatus.PENDING and unclaimed.lease_owner is None
        await tidy_up(ctx)  # the lost one frees no slot: it is failed, not resent
        assert (await Task.get(id=lost)).status == TaskStatus.FAILED
        assert await Dispatcher(ctx).run() == 1  # its slot is free: the waiting task goes out
    assert len(service.fake.submissions) == submissions + 1
    assert (await Task.get(id=waiting)).status == TaskStatus.QUEUED
