"""Cancel, Idempotency-Key, deadlines and Higgsfield webhooks."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from src.core.clock import utcnow
from src.db.models import IdempotencyKey, Task, TaskStatus
from src.upstream.webhooks import task_token
from tests.support.app import GENERATIONS, eventually, make_settings, register, running_app
from tests.support.images import image_bytes, png
from tests.support.tasks import has_image, image_dropped

I2V = "/api/higgsfield/i2v/"


async def post_task(client, key: str, *, headers: dict | None = None, image: bytes | None = None, **data):
    return await client.post(
        I2V,
        headers={"X-API-KEY": key, **(headers or {})},
        files={"image": ("in.png", image or png(), "image/png")},
        data=data,
    )


async def status_of(client, key: str, task_id: str) -> str:
    return (await client.get(f"{I2V}{task_id}", headers={"X-API-KEY": key})).json()["status"]


# --- cancel -------------------------------------------------------------------------------


async def test_a_pending_task_is_canceled_and_never_sent(service, api_key):
    service.fake.fail_next("upload_url", [503] * 1000)  # Higgsfield is down: the task waits
    task = (await post_task(service.client, api_key)).json()
    response = await service.client.post(f"{I2V}{task['id']}/cancel", headers={"X-API-KEY": api_key})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "canceled" and response.json()["completed_at"]
    service.fake.reset()
    await service.state["jobs"].submit.run()
    assert service.fake.submissions == []
    assert not await has_image(service.state["blobs"], task["id"])
    again = await service.client.post(f"{I2V}{task['id']}/cancel", headers={"X-API-KEY": api_key})
    assert again.status_code == 409 and "canceled" in again.json()["detail"]


@pytest.mark.parametrize("api_version", ["v1"])
async def test_a_task_higgsfield_has_cannot_be_canceled_on_v1(service, api_key):
    service.fake.settings.reads_per_step = None  # jobs stay queued until told
    task = (await post_task(service.client, api_key)).json()
    await eventually(lambda: _status_is(service, api_key, task["id"], "queued"), what="the task to be queued")
    response = await service.client.post(f"{I2V}{task['id']}/cancel", headers={"X-API-KEY": api_key})
    assert response.status_code == 409
    assert "cannot cancel" in response.json()["detail"]
    assert service.fake.calls["cancel"] == 0  # v1 has no cancel: nothing is asked of Higgsfield


async def test_a_queued_task_is_canceled_at_higgsfield_on_v2(service, api_key):
    service.fake.settings.reads_per_step = None  # jobs stay queued until told
    task = (await post_task(service.client, api_key)).json()
    await eventually(lambda: _status_is(service, api_key, task["id"], "queued"), what="the task to be queued")
    response = await service.client.post(f"{I2V}{task['id']}/cancel", headers={"X-API-KEY": api_key})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "canceled" and response.json()["completed_at"]
    [job] = service.fake.jobs()
    assert job.status == "canceled"  # Higgsfield said 202 first


async def test_a_started_task_is_a_409_on_v2_and_stays_followed(service, api_key):
    service.fake.settings.reads_per_step = None
    task = (await post_task(service.client, api_key)).json()
    await eventually(lambda: _status_is(service, api_key, task["id"], "queued"), what="the task to be queued")
    service.fake.advance_all()  # Higgsfield starts it; we have not read that yet
    response = await service.client.post(f"{I2V}{task['id']}/cancel", headers={"X-API-KEY": api_key})
    assert response.status_code == 409, response.text
    assert "started" in response.json()["detail"]
    assert service.fake.calls["cancel"] == 1
    service.fake.advance_all()
    assert await _final_status(service, api_key, task["id"]) == "completed"


async def test_a_cancel_higgsfield_cannot_be_reached_for_is_a_503_and_changes_nothing(service, api_key):
    service.fake.settings.reads_per_step = None
    task = (await post_task(service.client, api_key)).json()
    await eventually(lambda: _status_is(service, api_key, task["id"], "queued"), what="the task to be queued")
    service.fake.fail_next("cancel", [503])
    response = await service.client.post(f"{I2V}{task['id']}/cancel", headers={"X-API-KEY": api_key})
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert await status_of(service.client, api_key, task["id"]) == "queued"
    assert service.fake.jobs()[0].status == "queued"


async def _final_status(service, key: str, task_id: str) -> str:
    async def final() -> str | None:
        status = await status_of(service.client, key, task_id)
        return status if status in ("completed", "failed", "nsfw", "canceled") else None

    return await eventually(final, within=15, what="the task to end")


async def _status_is(service, key: str, task_id: str, status: str) -> bool:
    return await status_of(service.client, key, task_id) == status


async def test_cancel_of_another_clients_task_is_404(service, api_key, other_api_key):
    service.fake.fail_next("upload_url", [503] * 1000)
    task = (await post_task(service.client, api_key)).json()
    response = await service.client.post(f"{I2V}{task['id']}/cancel", headers={"X-API-KEY": other_api_key})
    assert response.status_code == 404
    assert await status_of(service.client, api_key, task["id"]) == "pending"


# --- Idempotency-Key ----------------------------------------------------------------------


async def test_the_same_key_twice_gives_the_same_task_and_one_submission(service, api_key):
    headers = {"Idempotency-Key": "order-42"}
    first = await post_task(service.client, api_key, headers=headers, prompt="same")
    second = await post_task(service.client, api_key, headers=headers, prompt="same")
    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers.get("idempotent-replayed") == "true"
    assert await Task.all().count() == 1
    await eventually(lambda: _status_is(service, api_key, first.json()["id"], "completed"), what="completion")
    third = await post_task(service.client, api_key, headers=headers, prompt="same")
    assert third.json() == first.json()  # the first answer, not the task's current state
    assert len(service.fake.submissions) == 1


async def test_the_same_key_with_other_fields_is_409(service, api_key):
    headers = {"Idempotency-Key": "order-43"}
    assert (await post_task(service.client, api_key, headers=headers, prompt="a")).status_code == 202
    other_prompt = await post_task(service.client, api_key, headers=headers, prompt="b")
    other_image = await post_task(
        service.client, api_key, headers=headers, prompt="a", image=image_bytes("JPEG")
    )
    assert other_prompt.status_code == other_image.status_code == 409
    assert await Task.all().count() == 1


async def test_keys_are_per_client_and_expire(service, api_key, other_api_key):
    headers = {"Idempotency-Key": "shared-name"}
    mine = await post_task(service.client, api_key, headers=headers)
    theirs = await post_task(service.client, other_api_key, headers=headers)
    assert mine.json()["id"] != theirs.json()["id"]
    await IdempotencyKey.all().update(created_at=_days_ago(2))
    later = await post_task(service.client, api_key, headers=headers)
    assert later.status_code == 202 and later.json()["id"] != mine.json()["id"]


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_a_bad_idempotency_key_is_422(service, api_key, key):
    response = await post_task(service.client, api_key, headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert await Task.all().count() == 0


def _days_ago(days: int):
    from src.core.clock import utcnow

    return utcnow() - timedelta(days=days)


# --- deadlines ----------------------------------------------------------------------------


async def test_a_task_not_accepted_before_the_submit_deadline_fails(db_url, fake):
    fake.fail_next("upload_url", [503] * 10_000)
    settings = make_settings(db_url, fake.url, task_submit_deadline=timedelta(seconds=0.5))
    async with running_app(settings) as (state, client):
        key = (await register(client))["api_key"]
        task = (await post_task(client, key)).json()
        await eventually(lambda: _final(client, key, task["id"]), what="the deadline to pass")
        done = (await client.get(f"{I2V}{task['id']}", headers={"X-API-KEY": key})).json()
        await eventually(
            lambda: image_dropped(state["blobs"], task["id"]), what="its image to be dropped"
        )  # not needed
    assert done["status"] == "failed"
    assert "TASK_SUBMIT_DEADLINE" in done["error"] and "not charged" in done["error"]
    assert fake.submissions == []


async def test_a_submission_lost_in_a_crash_fails_and_drops_its_image(db_url, fake):
    fake.fail_next("upload_url", [503] * 10_000)  # the image stays stored: it was never uploaded
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        key = (await register(client))["api_key"]
        task = (await post_task(client, key)).json()
        assert await has_image(state["blobs"], task["id"])
        # As a worker that crashed after writing `submitting` leaves it:
        await Task.filter(id=task["id"]).update(
            status=TaskStatus.SUBMITTING,
            lease_owner="dead-worker",
            lease_until=utcnow() - timedelta(seconds=1),
        )
        await eventually(lambda: _final(client, key, task["id"]), what="the lost submission to be reaped")
        done = (await client.get(f"{I2V}{task['id']}", headers={"X-API-KEY": key})).json()
        await eventually(lambda: image_dropped(state["blobs"], task["id"]), what="its image to be dropped")
    assert done["status"] == "failed" and "not sent again" in done["error"]


async def test_a_task_higgsfield_keeps_past_the_run_deadline_fails(db_url, fake):
    fake.settings.reads_per_step = None  # Higgsfield never finishes
    settings = make_settings(db_url, fake.url, task_run_deadline=timedelta(seconds=0.5))
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        task = (await post_task(client, key)).json()
        await eventually(lambda: _final(client, key, task["id"]), what="the deadline to pass")
        done = (await client.get(f"{I2V}{task['id']}", headers={"X-API-KEY": key})).json()
    assert done["status"] == "failed" and "TASK_RUN_DEADLINE" in done["error"]
    assert len(fake.submissions) == 1


async def _final(client, key: str, task_id: str) -> bool:
    return await status_of(client, key, task_id) in ("completed", "failed", "nsfw", "canceled")


# --- Higgsfield webhooks ------------------------------------------------------------------

WEBHOOK_SECRET = "hf-webhook-secret-for-tests"


def webhook_settings(db_url: str, fake, **overrides):
    return make_settings(
        db_url,
        fake.url,
        public_base_url="https://gateway.example.com",
        hf_webhook_secret=WEBHOOK_SECRET,
        **overrides,
    )


def webhook_url(task_id: str) -> str:
    token = task_token(WEBHOOK_SECRET, uuid.UUID(task_id))
    return f"https://gateway.example.com/api/higgsfield/webhook?task={task_id}&token={token}"


@pytest.mark.parametrize("api_version", GENERATIONS)
async def test_submissions_ask_higgsfield_for_a_webhook_naming_the_task(db_url, fake, api_version):
    settings = webhook_settings(db_url, fake, hf_api_version=api_version)
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        task = (await post_task(client, key)).json()
        await eventually(lambda: _submitted(fake), what="the submission")
    [job] = fake.jobs()
    if api_version == "v1":
        assert job.body["webhook"] == {"url": webhook_url(task["id"]), "secret": WEBHOOK_SECRET}
    else:  # v2: a query parameter, and no secret (v2 has none): the token in the URL is ours
        assert job.query == {"hf_webhook": webhook_url(task["id"])}
        assert WEBHOOK_SECRET not in str(job.body) + str(job.query)


async def test_a_v2_webhook_with_its_task_token_triggers_one_read(db_url, fake):
    fake.settings.reads_per_step = None
    settings = webhook_settings(db_url, fake, poll_interval_seconds=3600)  # only the webhook can help
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        task = (await post_task(client, key)).json()
        other = (await post_task(client, key)).json()
        await eventually(lambda: _has_job_set(task["id"]), what="the request id to be recorded")
        await eventually(lambda: _has_job_set(other["id"]), what="the other request id")
        jobs = {job.job_set_id: job for job in fake.jobs()}
        job, other_job = jobs[await _request_id(task["id"])], jobs[await _request_id(other["id"])]
        fake.finish(job.job_set_id, "completed")
        fake.finish(other_job.job_set_id, "completed")
        path = webhook_url(task["id"]).removeprefix("https://gateway.example.com")
        # Higgsfield's payload names the request; the token is for `task` only.
        wrong = await client.post(
            path.replace(task["id"], other["id"]), json={"request_id": other_job.job_set_id}
        )
        assert wrong.status_code == 401
        forged = await client.post(path, json={"request_id": other_job.job_set_id})
        assert forged.status_code == 204  # a valid token, but it speaks for its own task only
        reads = fake.job_set_reads
        payload = {"request_id": job.job_set_id, "status": "completed"}
        first = await client.post(path, json=payload)
        again = await client.post(path, json=payload)  # Higgsfield retries: deduplicated
        assert first.status_code == again.status_code == 204
        await eventually(lambda: _status_is_at(client, key, task["id"], "completed"), what="completion")
        assert fake.job_set_reads - reads == 1
        assert await status_of(client, key, other["id"]) == "queued"


async def _request_id(task_id: str) -> str:
    return (await Task.get(id=task_id)).upstream_job_id or ""


async def _submitted(fake) -> bool:
    return bool(fake.submissions)


async def test_a_valid_webhook_triggers_an_immediate_read(db_url, fake):
    fake.settings.reads_per_step = None
    settings = webhook_settings(db_url, fake, poll_interval_seconds=3600)  # only the webhook can help
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        task = (await post_task(client, key)).json()
        await eventually(lambda: _submitted(fake), what="the submission")
        await eventually(lambda: _has_job_set(task["id"]), what="the job set to be recorded")
        [job] = fake.jobs()
        fake.finish(job.job_set_id, "completed")
        reads = fake.job_set_reads
        response = await client.post(
            f"/api/higgsfield/webhook?task={task['id']}",
            json={"id": job.job_set_id, "jobs": [{"status": "completed"}]},
            headers={"X-Webhook-Secret-Key": WEBHOOK_SECRET},
        )
        assert response.status_code == 204
        await eventually(lambda: _status_is_at(client, key, task["id"], "completed"), what="completion")
    assert fake.job_set_reads > reads  # the service read the job set itself: the poller stays the truth


async def test_a_webhook_for_a_task_already_due_runs_the_poll_round_at_once(db_url, fake):
    """The task's read is due but the next poll round is an hour away: the call brings it forward."""
    fake.settings.reads_per_step = None
    settings = webhook_settings(db_url, fake, poll_interval_seconds=3600)
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        task = (await post_task(client, key)).json()
        await eventually(lambda: _has_job_set(task["id"]), what="the request id to be recorded")
        await Task.filter(id=task["id"]).update(next_attempt_at=utcnow() - timedelta(seconds=1))
        request_id = await _request_id(task["id"])
        fake.finish(request_id, "completed")
        path = webhook_url(task["id"]).removeprefix("https://gateway.example.com")
        response = await client.post(path, json={"request_id": request_id, "status": "completed"})
        assert response.status_code == 204
        await eventually(lambda: _status_is_at(client, key, task["id"], "completed"), what="completion")


async def test_a_webhook_that_comes_while_its_task_is_read_is_kept(db_url, fake):
    """The job ends while the poller's read of it (which saw it running) is in flight: the webhook
    for it must not be undone by that read's release, which would leave it for the next interval."""
    fake.settings.reads_per_step = None
    settings = webhook_settings(db_url, fake, poll_interval_seconds=3600)  # only the webhook can help
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        task = (await post_task(client, key)).json()
        await eventually(lambda: _has_job_set(task["id"]), what="the request id to be recorded")
        request_id = await _request_id(task["id"])
        path = webhook_url(task["id"]).removeprefix("https://gateway.example.com")
        # The next read sees the job running, then answers only 1.5 s later.
        fake.hang_next("job_set", 1.5, after=True)
        reads = fake.job_set_reads
        await Task.filter(id=task["id"]).update(next_attempt_at=utcnow() - timedelta(seconds=1))
        assert (await client.post(path, json={"request_id": request_id})).status_code == 204

        async def reading() -> bool:
            return fake.job_set_reads > reads

        await eventually(reading, what="the poller's read to be in flight")
        fake.finish(request_id, "completed")
        assert (
            await client.post(path, json={"request_id": request_id, "status": "completed"})
        ).status_code == 204
        await eventually(lambda: _status_is_at(client, key, task["id"], "completed"), what="completion")


async def _has_job_set(task_id: str) -> bool:
    return await Task.filter(id=task_id).exclude(upstream_job_id=None).exists()


async def _status_is_at(client, key: str, task_id: str, status: str) -> bool:
    return await status_of(client, key, task_id) == status


async def test_a_webhook_with_a_bad_secret_is_401(db_url, fake):
    async with running_app(webhook_settings(db_url, fake)) as (_app, client):
        for headers in ({}, {"X-Webhook-Secret-Key": "wrong"}):
            response = await client.post("/api/higgsfield/webhook", json={"id": "x"}, headers=headers)
            assert response.status_code == 401


async def test_the_webhook_route_is_404_when_not_configured(service):
    response = await service.client.post(
        "/api/higgsfield/webhook", json={"id": "x"}, headers={"X-Webhook-Secret-Key": "anything"}
    )
    assert response.status_code == 404


async def test_a_webhook_reconciles_a_submission_whose_answer_was_lost(db_url, fake):
    """The DoP answer never arrived: with webhooks on, the task waits for Higgsfield's call
    instead of failing, then follows the job it names. Still one submission."""
    fake.hang_next("dop", 2.0, after=True)
    settings = webhook_settings(db_url, fake, hf_timeout_seconds=0.5)
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        task = (await post_task(client, key)).json()
        await eventually(
            lambda: _status_in_db(task["id"], TaskStatus.SUBMITTING, lease_gone=True), what="timeout"
        )
        assert await status_of(client, key, task["id"]) == "pending"
        [job] = fake.jobs()
        response = await client.post(
            f"/api/higgsfield/webhook?task={task['id']}",
            json={"id": job.job_set_id},
            headers={"X-Webhook-Secret-Key": WEBHOOK_SECRET},
        )
        assert response.status_code == 204
        await eventually(lambda: _status_is_at(client, key, task["id"], "completed"), what="completion")
        # Followed with the generation it was sent with (v2, the default), not the column's default.
        assert (await Task.get(id=task["id"])).upstream_api == "v2"
    assert len(fake.submissions) == 1
    assert fake.calls["job_set"] >= 1 and fake.jobs()[0].version == "v2"


async def _status_in_db(task_id: str, status: TaskStatus, *, lease_gone: bool) -> bool:
    from src.core.clock import utcnow

    rows = await Task.filter(id=task_id).values("status", "lease_until")
    return (
        bool(rows) and rows[0]["status"] == status and (not lease_gone or rows[0]["lease_until"] <= utcnow())
    )
