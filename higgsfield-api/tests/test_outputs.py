"""Copies of the outputs: downloaded from the sandbox's real MP4 and JPEG over loopback, stored in
the blob store, served with Range to the owning client only, failed cleanly, expired by retention."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from src.core.clock import utcnow
from src.db.models import Task
from src.jobs.context import JobContext
from src.outputs.retention import expire_copies
from src.sandbox.app import asset_bytes
from tests.support.app import eventually, make_settings, register, running_app
from tests.support.images import png

I2V = "/api/higgsfield/i2v/"
VIDEO, THUMBNAIL = asset_bytes("video.mp4"), asset_bytes("thumbnail.jpg")


async def create(client, key: str) -> str:
    response = await client.post(
        I2V, headers={"X-API-KEY": key}, files={"image": ("in.png", png(), "image/png")}
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def copied(client, key: str, task_id: str, within: float = 15) -> dict:
    """The task once its copy is no longer pending."""

    async def done() -> dict | None:
        task = (await client.get(f"{I2V}{task_id}", headers={"X-API-KEY": key})).json()
        output = task["output"]
        return task if output and output["state"] != "pending" else None

    return await eventually(done, within=within, what=f"the copy of task {task_id}")


def outputs_dir(settings) -> Path:
    return settings.blob_dir / "outputs"


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


async def test_the_copy_is_stored_and_served_with_range_to_its_client_only(service, api_key, other_api_key):
    client, mine = service.client, {"X-API-KEY": api_key}
    task_id = await create(client, api_key)
    task = await copied(client, api_key, task_id)
    assert task["status"] == "completed" and task["video_url"].startswith(service.fake.url)
    output = task["output"]
    assert output["state"] == "stored" and output["error"] is None and output["stored_at"]
    assert output["video_url"] == f"{I2V}{task_id}/video"
    assert output["thumbnail_url"] == f"{I2V}{task_id}/thumbnail"
    assert output["bytes"] == len(VIDEO) + len(THUMBNAIL)

    video = await client.get(output["video_url"], headers=mine)
    assert video.status_code == 200 and video.content == VIDEO
    assert video.headers["content-type"] == "video/mp4"
    assert video.headers["content-length"] == str(len(VIDEO))
    assert video.headers["etag"] and video.headers["accept-ranges"] == "bytes"
    part = await client.get(output["video_url"], headers={**mine, "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == VIDEO[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(VIDEO)}"
    beyond = await client.get(output["video_url"], headers={**mine, "Range": f"bytes={len(VIDEO)}-"})
    assert beyond.status_code == 416
    thumbnail = await client.get(output["thumbnail_url"], headers=mine)
    assert thumbnail.status_code == 200 and thumbnail.content == THUMBNAIL
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert files_in(outputs_dir(service.settings)) == sorted([f"{task_id}.thumbnail", f"{task_id}.video"])

    # Another client, or no key: the task does not exist for them.
    for path in (output["video_url"], output["thumbnail_url"]):
        other = await client.get(path, headers={"X-API-KEY": other_api_key})
        assert other.status_code == 404 and other.json() == {"detail": "Task not found"}
        assert (await client.get(path)).status_code == 401


async def test_a_copy_in_progress_is_a_409_with_retry_after(service, api_key):
    service.fake.settings.output_seconds = 3
    task_id = await create(service.client, api_key)

    async def pending() -> dict | None:
        task = (await service.client.get(f"{I2V}{task_id}", headers={"X-API-KEY": api_key})).json()
        return task if task["output"] else None

    task = await eventually(pending, what="the task to complete")
    assert task["output"]["state"] == "pending" and task["output"]["video_url"] is None
    early = await service.client.get(f"{I2V}{task_id}/video", headers={"X-API-KEY": api_key})
    assert early.status_code == 409 and early.headers["retry-after"]
    assert "being copied" in early.json()["detail"]
    assert (await copied(service.client, api_key, task_id))["output"]["state"] == "stored"


async def test_transient_failures_are_retried(service, api_key):
    service.fake.fail_next("output", [503, 502])
    task_id = await create(service.client, api_key)
    task = await copied(service.client, api_key, task_id)
    assert task["output"]["state"] == "stored"
    assert (await Task.get(id=task_id)).output_attempts == 3


async def test_an_output_over_the_limit_fails_with_the_reason_and_leaves_nothing(db_url, fake):
    settings = make_settings(db_url, fake.url, output_max_bytes=len(VIDEO) - 1)
    async with running_app(settings) as (_state, client):
        key = (await register(client))["api_key"]
        task_id = await create(client, key)
        output = (await copied(client, key, task_id))["output"]
        assert output["state"] == "failed" and "OUTPUT_MAX_BYTES" in output["error"]
        assert output["video_url"] is None
        refused = await client.get(f"{I2V}{task_id}/video", headers={"X-API-KEY": key})
        assert refused.status_code == 409 and "OUTPUT_MAX_BYTES" in refused.json()["detail"]
    assert files_in(outputs_dir(settings)) == []


@pytest.mark.parametrize("kind", ["video", "thumbnail"])
async def test_a_file_that_is_gone_upstream_fails_with_the_reason_and_leaves_nothing(service, api_key, kind):
    # The video is read first: a missing thumbnail also drops the video already stored.
    service.fake.fail_next("output", [404] if kind == "video" else [None, 404])
    task_id = await create(service.client, api_key)
    output = (await copied(service.client, api_key, task_id))["output"]
    assert output["state"] == "failed" and output["error"] == "the file answered HTTP 404"
    assert files_in(outputs_dir(service.settings)) == []


async def test_an_unreachable_file_is_retried_then_fails(db_url, fake):
    settings = make_settings(db_url, fake.url)
    fake.hang_next("output", settings.hf_timeout_seconds + 1)  # the first try times out
    async with running_app(settings) as (_state, client):
        key = (await register(client))["api_key"]
        task_id = await create(client, key)
        await eventually(lambda: Task.filter(id=task_id, output_state="pending").exists(), what="completion")
        # The next tries find nothing listening (connection refused), as a storage host that is down.
        await Task.filter(id=task_id).update(video_url="http://127.0.0.1:9/video.mp4")
        output = (await copied(client, key, task_id, within=30))["output"]
        assert (await Task.get(id=task_id)).output_attempts == 8
    assert output["state"] == "failed" and "could not be read" in output["error"]
    assert files_in(outputs_dir(settings)) == []


async def test_retention_deletes_the_copy_and_the_task_says_expired(service, api_key):
    task_id = await create(service.client, api_key)
    await copied(service.client, api_key, task_id)
    ctx_days = service.settings.output_retention_days
    await Task.filter(id=task_id).update(output_stored_at=utcnow() - timedelta(days=ctx_days, minutes=1))
    service.state["jobs"].outputs.nudge()

    async def expired() -> dict | None:
        task = (await service.client.get(f"{I2V}{task_id}", headers={"X-API-KEY": api_key})).json()
        return task if task["output"]["state"] == "expired" else None

    task = await eventually(expired, what="the copy to expire")
    assert task["output"]["video_url"] is None and task["video_url"]  # Higgsfield's URL stays
    assert files_in(outputs_dir(service.settings)) == []
    gone = await service.client.get(f"{I2V}{task_id}/video", headers={"X-API-KEY": api_key})
    assert gone.status_code == 409 and "OUTPUT_RETENTION_DAYS" in gone.json()["detail"]


async def test_zero_retention_keeps_copies_for_ever(db_url, fake):
    settings = make_settings(db_url, fake.url, output_retention_days=0)
    async with running_app(settings) as (state, client):
        key = (await register(client))["api_key"]
        task_id = await create(client, key)
        await copied(client, key, task_id)
        await Task.filter(id=task_id).update(output_stored_at=utcnow() - timedelta(days=3650))
        assert await expire_copies(JobContext(settings, state["accounts"], state["blobs"])) == 0
        assert (await Task.get(id=task_id)).output_state == "stored"


async def test_output_copy_off_makes_no_copy(db_url, fake):
    settings = make_settings(db_url, fake.url, output_copy=False)
    async with running_app(settings) as (_state, client):
        key = (await register(client))["api_key"]
        task_id = await create(client, key)

        async def completed() -> dict | None:
            task = (await client.get(f"{I2V}{task_id}", headers={"X-API-KEY": key})).json()
            return task if task["status"] == "completed" else None

        task = await eventually(completed, what="the task to complete")
        assert task["output"] is None and task["video_url"]
        off = await client.get(f"{I2V}{task_id}/video", headers={"X-API-KEY": key})
        assert off.status_code == 409 and "OUTPUT_COPY=false" in off.json()["detail"]
    assert fake.calls["output"] == 0


async def test_a_task_without_outputs_is_a_409(service, api_key):
    task_id = await create(service.client, api_key)
    await service.client.post(f"{I2V}{task_id}/cancel", headers={"X-API-KEY": api_key})
    answer = await service.client.get(f"{I2V}{task_id}/video", headers={"X-API-KEY": api_key})
    assert answer.status_code == 409, answer.text
