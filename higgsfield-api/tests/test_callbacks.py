"""Signed callbacks to a real receiver on loopback: signature, retries, redirects, timeouts, give-up."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from src.db.models import CallbackAttempt, Task
from src.web.deps import AppState
from tests.support.app import eventually, make_settings, register, running_app
from tests.support.images import png
from tests.support.receiver import Answer, Receiver

I2V = "/api/higgsfield/i2v/"
# Fast retries and a short timeout, so that every test takes a few seconds at most.
FAST: dict[str, Any] = {
    "retry_base_seconds": 0.05,
    "callback_retry_max_seconds": 0.2,
    "callback_timeout_seconds": 0.5,
}


@dataclass
class Hooks:
    state: AppState
    client: httpx.AsyncClient
    api_key: str
    webhook_secret: str
    receiver: Receiver

    async def create(self, callback_url: str | None, prompt: str = "a calm sea") -> dict[str, Any]:
        data = {"prompt": prompt} | ({"callback_url": callback_url} if callback_url else {})
        response = await self.client.post(
            I2V,
            headers={"X-API-KEY": self.api_key},
            files={"image": ("in.png", png(), "image/png")},
            data=data,
        )
        assert response.status_code == 202, response.text
        return response.json()

    async def get(self, task_id: str) -> dict[str, Any]:
        response = await self.client.get(f"{I2V}{task_id}", headers={"X-API-KEY": self.api_key})
        assert response.status_code == 200, response.text
        return response.json()

    async def until(
        self, task_id: str, check: Callable[[dict[str, Any]], bool], what: str, within: float = 15
    ) -> dict[str, Any]:
        async def ready() -> dict[str, Any] | None:
            task = await self.get(task_id)
            return task if check(task) else None

        return await eventually(ready, within=within, what=what)

    async def delivered(self, task_id: str) -> dict[str, Any]:
        return await self.until(
            task_id, lambda t: bool(t["callback"] and t["callback"]["delivered"]), "the callback"
        )


@asynccontextmanager
async def hooks_service(db_url: str, fake: Any, receiver: Receiver, **overrides: Any) -> AsyncIterator[Hooks]:
    settings = make_settings(db_url, fake.url, **(FAST | overrides))
    async with running_app(settings) as (state, client):
        credentials = await register(client, "acme")
        yield Hooks(state, client, credentials["api_key"], credentials["webhook_secret"], receiver)


@pytest.fixture
async def hooks(db_url: str, fake: Any, receiver: Receiver) -> AsyncIterator[Hooks]:
    async with hooks_service(db_url, fake, receiver) as service:
        yield service


async def attempt_log(task_id: str) -> list[tuple[int | None, str | None]]:
    rows = await CallbackAttempt.filter(task_id=task_id).order_by("id").values_list("status_code", "error")
    return [tuple(row) for row in rows]


def without_callback(task: dict[str, Any]) -> dict[str, Any]:
    """The task without what goes on after it ended: its callback's delivery, its outputs' copy."""
    return {key: value for key, value in task.items() if key not in ("callback", "output")}


async def test_a_completed_task_is_posted_signed_with_the_task_json(hooks: Hooks, receiver: Receiver):
    task = await hooks.create(receiver.hook_url, prompt="un café au lait ☕")
    done = await hooks.delivered(task["id"])

    [hit] = receiver.hits()
    # The official Standard Webhooks library accepts it with the secret registration returned.
    sent = Webhook(hooks.webhook_secret).verify(hit.body, hit.headers)
    assert hit.headers["webhook-id"] == f"msg_{task['id']}"
    assert abs(int(hit.headers["webhook-timestamp"]) - time.time()) < 60
    assert hit.headers["content-type"] == "application/json"
    # Compact UTF-8 JSON: the same task a GET returns, its delivery state as it was before sending.
    assert hit.body == json.dumps(sent, separators=(",", ":"), ensure_ascii=False).encode()
    assert sent["status"] == "completed" and sent["video_url"]
    assert without_callback(sent) == without_callback(done)
    assert sent["output"]["state"] in ("pending", "stored")  # the callback does not wait for the copy
    assert sent["callback"] == {
        "url": receiver.hook_url,
        "delivered": False,
        "attempts": 0,
        "last_status": None,
        "error": None,
    }
    assert done["callback"] == {
        "url": receiver.hook_url,
        "delivered": True,
        "attempts": 1,
        "last_status": 200,
        "error": None,
    }
    with pytest.raises(Exception, match="signature"):
        Webhook(hooks.webhook_secret).verify(hit.body + b" ", hit.headers)


async def test_a_failing_receiver_gets_the_fourth_attempt(hooks: Hooks, receiver: Receiver):
    receiver.answer(Answer(500), Answer(503), Answer(500))
    task = await hooks.create(receiver.hook_url)
    done = await hooks.delivered(task["id"])

    assert done["callback"] == {
        "url": receiver.hook_url,
        "delivered": True,
        "attempts": 4,
        "last_status": 200,
        "error": None,
    }
    assert await attempt_log(task["id"]) == [
        (500, "HTTP 500"),
        (503, "HTTP 503"),
        (500, "HTTP 500"),
        (200, None),
    ]
    hits = receiver.hits()
    assert len(hits) == 4
    # One event, one id; each attempt signed afresh, and each one verifies.
    assert {hit.headers["webhook-id"] for hit in hits} == {f"msg_{task['id']}"}
    for hit in hits:
        Webhook(hooks.webhook_secret).verify(hit.body, hit.headers)


async def test_a_redirect_is_not_followed_and_is_retried(hooks: Hooks, receiver: Receiver):
    moved = receiver.url + "/moved"
    receiver.answer(then=Answer(301, {"location": moved}))
    task = await hooks.create(receiver.hook_url)
    failing = await hooks.until(
        task["id"], lambda t: t["callback"]["attempts"] >= 3, "three redirected attempts"
    )

    assert failing["callback"]["delivered"] is False
    assert failing["callback"]["last_status"] == 301
    assert failing["callback"]["error"] is None  # still trying
    assert receiver.hits("/moved") == []
    assert set(await attempt_log(task["id"])) == {(301, "redirect not followed")}
    assert (await Task.get(id=task["id"])).callback_due_at is not None  # still retrying


async def test_a_receiver_that_hangs_past_the_timeout_is_a_failed_attempt(hooks: Hooks, receiver: Receiver):
    receiver.answer(Answer(200, hang_seconds=2.0))  # the timeout is 0.5 s
    task = await hooks.create(receiver.hook_url)
    done = await hooks.delivered(task["id"])

    assert await attempt_log(task["id"]) == [(None, "timeout"), (200, None)]
    assert done["callback"] == {
        "url": receiver.hook_url,
        "delivered": True,
        "attempts": 2,
        "last_status": 200,
        "error": None,
    }


async def test_retries_stop_once_the_retry_window_has_passed(db_url: str, fake: Any, receiver: Receiver):
    receiver.answer(then=Answer(500))
    async with hooks_service(db_url, fake, receiver, callback_retry_window=1.0) as hooks:
        task = await hooks.create(receiver.hook_url)

        async def given_up() -> Task | None:
            row = await Task.get(id=task["id"])
            return row if row.callback_attempts and row.callback_due_at is None else None

        row = await eventually(given_up, within=15, what="the callback to be given up")
        calls = len(receiver.hits())
        await asyncio.sleep(0.6)  # several job intervals and backoff steps
        assert len(receiver.hits()) == calls

        shown = await hooks.get(task["id"])
        assert shown["callback"]["delivered"] is False
        assert shown["callback"]["attempts"] == calls == row.callback_attempts > 1
        assert shown["callback"]["last_status"] == 500
        assert shown["callback"]["error"] == "not delivered within the retry window; last attempt: HTTP 500"
        # It kept trying for the whole window before it gave up.
        last = await CallbackAttempt.filter(task_id=task["id"]).order_by("-id").first()
        assert last is not None and row.completed_at is not None
        assert last.attempted_at >= row.completed_at + timedelta(seconds=1)


async def test_every_final_status_is_delivered_once_and_only_with_a_callback_url(
    hooks: Hooks, receiver: Receiver
):
    nsfw = await hooks.create(receiver.hook_url, prompt="something nsfw")
    failed = await hooks.create(receiver.hook_url, prompt="make it explode")
    silent = await hooks.create(None)
    nsfw_done = await hooks.delivered(nsfw["id"])
    failed_done = await hooks.delivered(failed["id"])
    silent_done = await hooks.until(silent["id"], lambda t: t["status"] == "completed", "the silent task")

    # The job keeps running on its interval, and may be run on demand: nothing is sent again.
    for _ in range(5):
        await hooks.state["jobs"].callbacks.run()
    await asyncio.sleep(0.5)

    hits = receiver.hits()
    assert sorted(hit.headers["webhook-id"] for hit in hits) == sorted(
        [f"msg_{nsfw['id']}", f"msg_{failed['id']}"]
    )
    by_id = {Webhook(hooks.webhook_secret).verify(hit.body, hit.headers)["id"]: hit for hit in hits}
    assert json.loads(by_id[nsfw["id"]].body)["status"] == "nsfw"
    assert json.loads(by_id[failed["id"]].body)["status"] == "failed"
    assert json.loads(by_id[failed["id"]].body)["error"] == failed_done["error"]
    assert nsfw_done["callback"]["attempts"] == failed_done["callback"]["attempts"] == 1
    assert silent_done["callback"] is None
    assert await CallbackAttempt.filter(task_id=silent["id"]).count() == 0
    assert (await Task.get(id=silent["id"])).callback_due_at is None  # swept: never claimed
