"""The named SQL reads (fast_reads) against a real database: each returns what the ORM does."""

from __future__ import annotations

import uuid
from datetime import timedelta

from src.core import security
from src.core.clock import utcnow
from src.db import fast_reads
from src.db.models import ApiKey, Task, TaskStatus
from src.tasks import service as tasks
from src.tasks.schemas import ANSWER_FIELDS, PUBLIC_COLUMNS
from src.upstream.accounts import busy_slots
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
    assert list(got.json()) == list(ANSWER_FIELDS) == list(created)
    assert list(page.json()["items"][0]) == list(ANSWER_FIELDS)
    assert got.json()["callback"] == {
        "url": "http://127.0.0.1:9/hook",
        "delivered": False,
        "attempts": 0,
        "last_status": None,
        "error": None,
    }
    assert got.json() == page.json()["items"][0]


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
        await Task.filter(id__in=ids[:6]).update(upstream_account="a")
        await Task.filter(id=ids[2]).update(upstream_account="b")
        assert await busy_slots() == {"a": 3, "b": 1}


async def test_each_fast_read_returns_what_its_orm_twin_does(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        mine, theirs = await register(client, "twin-a"), await register(client, "twin-b")
        client_id = uuid.UUID(mine["client_id"])
        ids = [(await tasks.create(client_id, new_task(f"a-{n}"), state["blobs"]))["id"] for n in range(6)]
        other_task = (await tasks.create(uuid.UUID(theirs["client_id"]), new_task("b"), state["blobs"]))["id"]
        await Task.filter(id=ids[1]).update(status=TaskStatus.QUEUED, metadata={"n": 1, "s": "é"})
        await Task.filter(id=ids[2]).update(
            status=TaskStatus.COMPLETED,
            callback_url="http://x/h",
            callback_delivered=True,
            completed_at=utcnow(),
        )
        key_hash = security.hash_api_key(mine["api_key"])
        await ApiKey.filter(key_hash=key_hash).update(last_used_at=utcnow())
        [orm_key] = await ApiKey.filter(key_hash=key_hash).values("id", "client_id", "last_used_at")

        for task_id in ids[:3]:
            [orm_task] = await Task.filter(id=task_id).values(*PUBLIC_COLUMNS)
            assert await fast_reads.task_for_key(key_hash, task_id, PUBLIC_COLUMNS) == (
                orm_task,
                orm_key,
            )
        assert await fast_reads.task_for_key(key_hash, other_task, PUBLIC_COLUMNS) is None
        assert await fast_reads.task_for_key("no-such-key", ids[0], PUBLIC_COLUMNS) is None

        newest = Task.filter(client_id=client_id).order_by("-created_at", "-id")
        page = await fast_reads.page_for_key(key_hash, PUBLIC_COLUMNS, statuses=(), after=None, limit=4)
        assert page == (await newest.limit(4).values(*PUBLIC_COLUMNS), orm_key)
        after = (page[0][1]["created_at"], page[0][1]["id"])
        rest = await fast_reads.page_for_key(
            key_hash, PUBLIC_COLUMNS, statuses=("pending",), after=after, limit=10
        )
        orm_rest = await newest.filter(status="pending").values(*PUBLIC_COLUMNS)
        orm_rest = [r for r in orm_rest if (r["created_at"], str(r["id"])) < (after[0], str(after[1]))]
        assert rest == (orm_rest, orm_key) and orm_rest
        assert (
            await fast_reads.page_for_key(key_hash, PUBLIC_COLUMNS, statuses=("nsfw",), after=None, limit=4)
            is None
        )
        assert (
            await fast_reads.page_for_key("no-such-key", PUBLIC_COLUMNS, statuses=(), after=None, limit=4)
            is None
        )

        await Task.filter(id=ids[1]).update(upstream_account="a")
        await Task.filter(id=ids[3]).update(lease_owner="w", lease_until=utcnow() + timedelta(minutes=1))
        busy = ("submitting", "queued", "in_progress")
        now = utcnow()
        orm_busy: dict[str | None, int] = {}
        for account in await Task.filter(status__in=busy).values_list("upstream_account", flat=True):
            orm_busy[account] = orm_busy.get(account, 0) + 1
        leased = Task.filter(status="pending", lease_until__gte=now)
        for account in await leased.values_list("upstream_account", flat=True):
            orm_busy[account] = orm_busy.get(account, 0) + 1
        assert await fast_reads.busy_by_account(busy, "pending", now) == orm_busy == {"a": 1, None: 1}
