"""The blob store of uploaded images: durable writes, reads, deletes, the sweep of what no task
needs, and what a crash between the image and the row leaves behind, on each database."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from tortoise.exceptions import IntegrityError

from src.blobs.store import TEMP_PREFIX, LocalBlobStore
from src.core.clock import utcnow
from src.db.models import Task, TaskImage, TaskStatus
from src.tasks import idempotency, image_store, transitions
from src.tasks import service as tasks
from tests.support.app import eventually, make_settings, register, running_app
from tests.support.images import image_bytes
from tests.support.tasks import has_image, new_task

HOUR = 3600


def backdate(path: Path, seconds: float) -> None:
    """As if the file had been written `seconds` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


async def test_a_blob_is_written_whole_read_back_and_deleted(tmp_path):
    store = LocalBlobStore(tmp_path / "made" / "here")  # the directory is made at start
    data = os.urandom(300_000)
    await store.put("one", data)
    await store.put("two", b"")
    assert await store.get("one") == data and await store.get("two") == b""
    assert sorted(p.name for p in store.directory.iterdir()) == ["one", "two"]  # no temporary file left
    await store.put("one", b"again")  # a second put replaces the first whole
    assert await store.get("one") == b"again"
    await store.delete(["one", "no-such-key"])
    assert await store.get("one") is None
    assert await store.older_than(utcnow() + timedelta(seconds=1)) == ["two"]
    assert await store.older_than(utcnow() - timedelta(hours=1)) == []
    for bad in ("", "../up", "a/b", ".hidden"):
        with pytest.raises(ValueError, match="not a blob key"):
            await store.put(bad, b"x")


async def test_the_sweep_removes_only_blobs_no_task_needs(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        client_id = uuid.UUID((await register(client))["client_id"])
        store = state["blobs"]
        assert isinstance(store, LocalBlobStore) and store.directory == settings.blob_dir
        pending = (await tasks.create(client_id, new_task("pending"), store))["id"]
        ended = (await tasks.create(client_id, new_task("ended"), store))["id"]
        assert await transitions.cancel_pending(store, client_id, ended)
        assert not await has_image(store, ended)
        # What a crash leaves: the blob of a task that ended before its image was deleted, of a
        # task whose row was never committed, and an unfinished write.
        await store.put(image_store.key_for(ended), b"left over")
        never_committed = image_store.key_for(uuid.uuid4())
        await store.put(never_committed, b"orphan")
        (store.directory / f"{TEMP_PREFIX}{uuid.uuid4()}.abcd").write_bytes(b"half")
        young_orphan = image_store.key_for(uuid.uuid4())  # a create in flight: its row comes next
        await store.put(young_orphan, b"in flight")
        for path in store.directory.iterdir():
            if path.name != young_orphan:
                backdate(path, HOUR)

        assert await image_store.sweep(store, utcnow() - timedelta(minutes=15)) == 3
        assert sorted(p.name for p in store.directory.iterdir()) == sorted([str(pending), young_orphan])
        # Once the young one is past the grace too, it goes; the pending task's image stays.
        backdate(store.directory / young_orphan, HOUR)
        assert await image_store.sweep(store, utcnow() - timedelta(minutes=15)) == 1
        assert [p.name for p in store.directory.iterdir()] == [str(pending)]
        assert await has_image(store, pending)


async def test_the_tidy_up_job_sweeps_with_blob_orphan_grace(db_url, fake):
    settings = make_settings(db_url, fake.url, blob_orphan_grace=timedelta(minutes=5))
    async with running_app(settings):
        orphan = settings.blob_dir / image_store.key_for(uuid.uuid4())
        orphan.write_bytes(b"orphan")
        backdate(orphan, 10 * 60)

        async def swept() -> bool:
            return not orphan.exists()

        await eventually(swept, what="the tidy-up to sweep the orphan")


async def test_a_row_is_never_committed_without_its_blob_nor_a_blob_left_without_its_row(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        client_id = uuid.UUID((await register(client))["client_id"])
        new = new_task("once")
        print_ = idempotency.fingerprint(dict(new.fields), new.image)
        first = await tasks.create(client_id, new, state["blobs"], idempotency=("key-1", print_, 202))
        # The row is committed with its image already durable in the store.
        row = await Task.get(id=first["id"])
        assert row.image_key == str(first["id"]) and row.image_type == "image/png"
        assert (settings.blob_dir / row.image_key).read_bytes() == new.image
        # A create whose transaction fails after its image was written (here: the same
        # Idempotency-Key, as when two requests race) leaves neither a row nor a blob.
        with pytest.raises(IntegrityError):
            await tasks.create(client_id, new, state["blobs"], idempotency=("key-1", print_, 202))
        assert await Task.all().count() == 1
        assert [p.name for p in settings.blob_dir.iterdir()] == [str(first["id"])]


async def test_a_pending_task_without_its_blob_fails_instead_of_waiting_forever(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        client_id = uuid.UUID((await register(client))["client_id"])
        task = await tasks.create(client_id, new_task("lost"), state["blobs"])
        await state["blobs"].delete([str(task["id"])])  # e.g. replicas that do not share BLOB_DIR
        await state["jobs"].submit.run()
        row = await Task.get(id=task["id"])
    assert row.status == TaskStatus.FAILED and "stored image could not be found" in str(row.error)
    assert fake.uploads == [] and fake.submissions == []


async def test_a_task_stored_before_the_blob_store_is_still_sent_from_its_row(db_url, fake):
    """An upgraded database: a pending task whose image is still in task_images."""
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        client_id = uuid.UUID((await register(client))["client_id"])
        image = image_bytes("JPEG", (96, 96))
        task = await tasks.create(client_id, new_task("old"), state["blobs"])
        await state["blobs"].delete([str(task["id"])])
        await Task.filter(id=task["id"]).update(image_key=None, image_type=None)
        await TaskImage.create(task_id=task["id"], content_type="image/jpeg", data=image)
        await state["jobs"].submit.run()
        row = await Task.get(id=task["id"])
        assert await TaskImage.filter(task_id=task["id"]).count() == 0  # dropped once sent
    assert row.status == TaskStatus.QUEUED
    assert fake.uploads == [(image, "image/jpeg")]
