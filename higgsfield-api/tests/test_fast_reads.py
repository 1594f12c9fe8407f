"""The hand-written reads (fast_reads) and the loop-side SQLite reader against a real database."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import timedelta

import pytest
from tortoise import connections

from src.core import security
from src.core.clock import utcnow
from src.db import fast_reads, sqlite_reader
from src.db.models import PUBLIC_TASK_FIELDS, ApiKey, Motion, Task, TaskStatus
from src.tasks import service as tasks
from src.tasks.schemas import TaskOut
from src.upstream.submit import busy_slots
from tests.support.app import make_settings, register, running_app
from tests.support.images import png
from tests.support.tasks import new_task


async def test_a_task_reads_back_in_the_answers_order(service, api_key):
    created = (
        await service.client.post(
            "/api/higgsfield/i2v/",
            headers={"X-API-KEY": api_key},
            files={"image": ("a.png", png(), "image/png")},
            data={"prompt": "order", "callback_url": "http://127.0.0.1:9/hook"},
        )
    ).json()
    got = await service.client.get(f"/api/higgsfield/i2v/{created['id']}", headers={"X-API-KEY": api_key})
    page = await service.client.get("/api/higgsfield/i2v/", headers={"X-API-KEY": api_key})
    assert list(got.json()) == list(TaskOut.model_fields) == list(created)
    assert list(page.json()["items"][0]) == list(TaskOut.model_fields)
    assert got.json()["callback"] == {
        "url": "http://127.0.0.1:9/hook",
        "delivered": False,
        "attempts": 0,
        "last_status": None,
    }
    assert got.json() == page.json()["items"][0]


async def test_the_reader_sees_a_commit_at_once_and_steps_aside_on_errors(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        client_id = (await register(client))["client_id"]
        orm = connections.get("default")
        reader = sqlite_reader.reader_for(orm)
        if not db_url.startswith("sqlite"):
            assert reader is None  # MySQL: reads are prepared (mysql_reader) or the ORM's
            return
        assert reader is not None
        prompt_of = 'SELECT "prompt" FROM "tasks" WHERE "id" = ?'
        for n in range(3):
            task = await tasks.create(client_id, new_task(f"seen-{n}"), state["blobs"])
            rows = sqlite_reader.fetch(reader, prompt_of, [str(task["id"])])
            assert rows == [{"prompt": f"seen-{n}"}]
        # A statement SQLite refuses (here: no such table) is left to the ORM, which raises its own error.
        assert sqlite_reader.fetch(reader, 'SELECT * FROM "no_such_table"', []) is None
        # The reader never writes.
        with pytest.raises(sqlite3.OperationalError):
            reader.execute('DELETE FROM "tasks"')


def test_an_in_memory_database_has_no_reader():
    class Capabilities:
        dialect = "sqlite"

    class MemoryClient:
        capabilities = Capabilities()
        filename = ":memory:"

    assert sqlite_reader.reader_for(MemoryClient()) is None


async def test_busy_slots_count_sent_tasks_and_claimed_pending_ones(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        client_id = (await register(client))["client_id"]
        ids = [(await tasks.create(client_id, new_task(), state["blobs"]))["id"] for _ in range(7)]
        now = utcnow()
        await Task.filter(id=ids[0]).update(status=TaskStatus.SUBMITTING)
        await Task.filter(id=ids[1]).update(status=TaskStatus.QUEUED)
        await Task.filter(id=ids[2]).update(status=TaskStatus.IN_PROGRESS)
        await Task.filter(id=ids[3]).update(status=TaskStatus.COMPLETED)
        # Pending: one claimed by a live dispatcher, one whose claim ran out, one unclaimed.
        await Task.filter(id=ids[4]).update(lease_owner="w", lease_until=now + timedelta(minutes=1))
        await Task.filter(id=ids[5]).update(lease_owner="w", lease_until=now - timedelta(minutes=1))
        assert await busy_slots() == 4


async def test_the_nth_newest_creation_of_a_client(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        client_id = (await register(client))["client_id"]
        other_id = (await register(client, "other"))["client_id"]
        made = [await tasks.create(client_id, new_task(), state["blobs"]) for _ in range(3)]
        await tasks.create(other_id, new_task(), state["blobs"])
        since = utcnow() - timedelta(minutes=1)
        newest_first = sorted((task["created_at"] for task in made), reverse=True)
        assert await fast_reads.nth_newest_creation(client_id, since, 1) == newest_first[0]
        assert await fast_reads.nth_newest_creation(client_id, since, 3) == newest_first[2]
        assert await fast_reads.nth_newest_creation(client_id, since, 4) is None
        assert await fast_reads.nth_newest_creation(uuid.uuid4(), since, 1) is None
        assert await fast_reads.nth_newest_creation(client_id, utcnow() + timedelta(seconds=1), 1) is None


def _as_api(row: dict) -> dict:
    """A task row with ids as text and the flag as a bool, as both kinds of read give them out."""
    return {
        key: str(value)
        if isinstance(value, uuid.UUID)
        else bool(value)
        if key == "callback_delivered"
        else value
        for key, value in row.items()
    }


async def test_each_fast_read_returns_what_its_orm_twin_does(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        mine, theirs = await register(client, "twin-a"), await register(client, "twin-b")
        client_id = uuid.UUID(mine["client_id"])
        ids = [(await tasks.create(client_id, new_task(f"a-{n}"), state["blobs"]))["id"] for n in range(6)]
        other_task = (await tasks.create(uuid.UUID(theirs["client_id"]), new_task("b"), state["blobs"]))["id"]
        await Task.filter(id=ids[1]).update(status=TaskStatus.QUEUED, metadata={"n": 1})
        await Task.filter(id=ids[2]).update(status=TaskStatus.COMPLETED, callback_url="http://x/h")
        key_hash = security.hash_api_key(mine["api_key"])

        [orm_key] = await ApiKey.filter(key_hash=key_hash, revoked_at=None, client__disabled_at=None).values(
            "id", "client_id", "last_used_at"
        )
        assert await fast_reads.live_key(key_hash) == orm_key

        found = await fast_reads.task_for_key(key_hash, ids[1])
        assert found is not None
        [orm_task] = await Task.filter(id=ids[1], client_id=client_id).values(*PUBLIC_TASK_FIELDS)
        assert _as_api(found[0]) == _as_api(orm_task) and found[1] == orm_key
        assert await fast_reads.task_for_key(key_hash, other_task) is None

        newest = Task.filter(client_id=client_id).order_by("-created_at", "-id")
        page = await fast_reads.task_page(client_id, statuses=(), after=None, limit=4)
        assert [_as_api(r) for r in page] == [
            _as_api(r) for r in await newest.limit(4).values(*PUBLIC_TASK_FIELDS)
        ]
        after = (page[1]["created_at"], uuid.UUID(str(page[1]["id"])))
        rest = await fast_reads.task_page(client_id, statuses=("pending",), after=after, limit=10)
        orm_rest = [r for r in await newest.values(*PUBLIC_TASK_FIELDS) if r["status"] == "pending"]
        orm_rest = [r for r in orm_rest if (r["created_at"], str(r["id"])) < (after[0], str(after[1]))]
        assert [_as_api(r) for r in rest] == [_as_api(r) for r in orm_rest]
        # The same pages through the key, in one query (the list route's read).
        keyed = await fast_reads.page_for_key(key_hash, statuses=(), after=None, limit=4)
        assert keyed is not None and keyed[1] == orm_key
        assert [_as_api(r) for r in keyed[0]] == [_as_api(r) for r in page]
        keyed_rest = await fast_reads.page_for_key(key_hash, statuses=("pending",), after=after, limit=10)
        assert keyed_rest is not None and [_as_api(r) for r in keyed_rest[0]] == [
            _as_api(r) for r in orm_rest
        ]
        assert await fast_reads.page_for_key(key_hash, statuses=("nsfw",), after=None, limit=4) is None
        assert await fast_reads.page_for_key("no-such-key", statuses=(), after=None, limit=4) is None

        since = utcnow() - timedelta(minutes=1)
        orm_third = (
            await newest.filter(created_at__gte=since).offset(2).limit(1).values_list("created_at", flat=True)
        )
        assert await fast_reads.nth_newest_creation(client_id, since, 3) == orm_third[0]

        busy = ("submitting", "queued", "in_progress")
        orm_busy = await Task.filter(status__in=busy).count()
        orm_busy += await Task.filter(status="pending", lease_until__gte=utcnow()).count()
        assert await fast_reads.count_busy(busy, "pending", utcnow()) == orm_busy

        [motion] = await Motion.filter(name="GENERAL").values_list("id", flat=True)
        assert await fast_reads.motion_id("GENERAL") == motion
        assert await fast_reads.motion_id("NO_SUCH_MOTION") is None
