"""The S3-compatible blob store, against moto's S3 server on loopback: the store itself, a task's
image through it on each database (written before the row, swept, sent, deleted), and the copies
of a task's outputs (stored, served by redirect, expired)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from moto.server import ThreadedMotoServer

from src.blobs.s3 import S3BlobStore, s3_store
from src.core.clock import utcnow
from src.core.config import Settings
from src.db.models import Task, TaskStatus
from src.outputs.storage import outputs_in
from src.sandbox.app import asset_bytes
from src.tasks import image_store
from src.tasks import service as tasks
from tests.support.app import eventually, make_settings, register, running_app
from tests.support.images import png
from tests.support.processes import free_port
from tests.support.tasks import new_task

BUCKET = "hf-test-images"


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_settings(db_url: str, upstream_url: str, s3_url: str) -> Settings:
    """A bucket of its own per test: a fresh prefix."""
    return make_settings(
        db_url,
        upstream_url,
        blob_s3_bucket=BUCKET,
        blob_s3_prefix=f"images-{uuid.uuid4().hex[:8]}/",
        blob_s3_endpoint_url=s3_url,
        blob_s3_region="us-east-1",
        blob_s3_access_key_id="test-access-key",
        blob_s3_secret_access_key="test-secret-key",
    )


async def _make_bucket(store: S3BlobStore) -> None:
    existing = await store.client.list_buckets()
    if BUCKET not in {bucket["Name"] for bucket in existing.get("Buckets", [])}:
        await store.client.create_bucket(Bucket=BUCKET)


async def test_an_s3_blob_is_written_read_back_listed_and_deleted(s3_url):
    settings = s3_settings("sqlite:///unused", "http://127.0.0.1:9", s3_url)
    async with s3_store(settings) as store:
        await _make_bucket(store)
        data = bytes(range(256)) * 1000
        await store.put("one", data)
        await store.put("two", b"2")
        assert await store.get("one") == data
        assert await store.get("no-such-key") is None
        assert sorted(await store.older_than(utcnow() + timedelta(minutes=1))) == ["one", "two"]
        assert await store.older_than(utcnow() - timedelta(hours=1)) == []
        await store.delete(["one", "no-such-key"])
        assert await store.get("one") is None
        assert await store.older_than(utcnow() + timedelta(minutes=1)) == ["two"]


async def test_a_tasks_image_goes_through_the_bucket(db_url, fake, s3_url):
    settings = s3_settings(db_url, fake.url, s3_url)
    async with s3_store(settings) as setup:
        await _make_bucket(setup)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        store = state["blobs"]
        assert isinstance(store, S3BlobStore)
        client_id = uuid.UUID((await register(client))["client_id"])
        new = new_task("through s3")
        task = await tasks.create(client_id, new, store)
        assert await store.get(str(task["id"])) == new.image  # stored before the row was
        orphan = image_store.key_for(uuid.uuid4())  # a create that crashed before its row
        await store.put(orphan, b"orphan")
        assert await image_store.sweep(store, utcnow() + timedelta(minutes=1)) == 1
        assert await store.older_than(utcnow() + timedelta(minutes=1)) == [str(task["id"])]
        await state["jobs"].submit.run()
        assert (await Task.get(id=task["id"])).status == TaskStatus.QUEUED
        assert fake.uploads == [(new.image, "image/png")]
        assert await store.get(str(task["id"])) is None  # Higgsfield has it: deleted


async def test_a_tasks_outputs_are_copied_to_the_bucket_and_served_by_redirect(db_url, fake, s3_url):
    settings = s3_settings(db_url, fake.url, s3_url)
    async with s3_store(settings) as setup:
        await _make_bucket(setup)
    async with running_app(settings) as (state, client):
        key = (await register(client))["api_key"]
        other = (await register(client, "globex"))["api_key"]
        image = {"image": ("in.png", png(), "image/png")}
        created = await client.post("/api/higgsfield/i2v/", headers={"X-API-KEY": key}, files=image)
        task_id = created.json()["id"]

        async def stored() -> bool:
            return await Task.filter(id=task_id, output_state="stored").exists()

        await eventually(stored, what="the copy")
        path = f"/api/higgsfield/i2v/{task_id}/video"
        answer = await client.get(path, headers={"X-API-KEY": key})
        assert answer.status_code == 307
        async with httpx.AsyncClient() as anyone:  # the presigned URL needs no credentials
            video = await anyone.get(answer.headers["location"])
            assert video.status_code == 200 and video.content == asset_bytes("video.mp4")
            assert video.headers["content-type"] == "video/mp4"
            part = await anyone.get(answer.headers["location"], headers={"Range": "bytes=0-99"})
            assert part.status_code == 206 and part.content == asset_bytes("video.mp4")[:100]
        assert (await client.get(path, headers={"X-API-KEY": other})).status_code == 404
        # The image sweep lists the same prefix and leaves the copies alone.
        await image_store.sweep(state["blobs"], utcnow() + timedelta(minutes=1))
        outputs = outputs_in(state["blobs"], settings)
        assert await outputs.size(f"{task_id}.video") == len(asset_bytes("video.mp4"))
        # Retention (the outputs job) deletes the objects.
        await Task.filter(id=task_id).update(output_stored_at=utcnow() - timedelta(days=365))

        async def expired() -> bool:
            return await Task.filter(id=task_id, output_state="expired").exists()

        await eventually(expired, what="the copy to expire")
        assert await outputs.size(f"{task_id}.video") is None
        assert await outputs.size(f"{task_id}.thumbnail") is None
