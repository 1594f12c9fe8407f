"""Several Higgsfield accounts: each within its own cap, a task followed with the account it was
sent with, a refused account paused while the others take its work, and the admin view. The
sandbox on loopback plays Higgsfield and records, per account, the most jobs it had at once."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from pydantic import ValidationError

from src.core.clock import utcnow
from src.core.config import Settings, reveal
from src.db.models import AccountState, Task
from src.tasks import service as tasks
from tests.support import databases
from tests.support.app import ADMIN_TOKEN, HEALTH_UUID, eventually, make_settings, register, running_app
from tests.support.processes import SERVICE_DIR, service_env
from tests.support.tasks import new_task

ADMIN = {"X-ADMIN-TOKEN": ADMIN_TOKEN}
FINAL = ("completed", "failed", "nsfw", "canceled")
KEY_A, KEY_B = "key-a", "key-b"
SECRET = "test-secret"


def account(name: str, key: str, cap: int, **more: Any) -> dict[str, Any]:
    return {"name": name, "key": key, "secret": SECRET, "max_concurrency": cap, **more}


def with_accounts(db_url: str, fake, accounts: list[dict[str, Any]], **overrides: Any) -> Settings:
    """The service with these accounts (HF_ACCOUNTS), the sandbox knowing each with its cap."""
    fake.settings.accounts = {entry["key"]: entry["max_concurrency"] for entry in accounts}
    return make_settings(
        db_url, fake.url, hf_api_key=None, hf_api_secret=None, hf_accounts=accounts, **overrides
    )


async def all_final(ids: list[str]) -> bool:
    return await Task.filter(id__in=ids, status__in=FINAL).count() == len(ids)


async def create_many(state, client_id: str, count: int, prefix: str = "t") -> list[str]:
    return [
        (await tasks.create(client_id, new_task(f"{prefix}{n}"), state["blobs"]))["id"] for n in range(count)
    ]


# Configuration


def test_accounts_are_read_from_json_with_their_defaults():
    settings = Settings(
        _env_file=None,
        hf_accounts=json.dumps([account("main", "k1", 4), {"name": "spare", "key": "k2", "secret": "s2"}]),
        hf_max_concurrency=7,
        hf_api_version="v1",
    )
    assert not settings.sandbox
    main, spare = settings.accounts
    assert (main.name, main.cap, main.version) == ("main", 4, "v1")
    assert (spare.name, spare.cap, spare.version) == ("spare", 7, "v1")
    assert settings.max_concurrency == 11


def test_the_key_shorthand_is_one_account_named_default():
    settings = Settings(_env_file=None, hf_api_key="k", hf_api_secret="s", hf_max_concurrency=3)
    [only] = settings.accounts
    assert (only.name, only.cap, only.version) == ("default", 3, "v2")
    [sandbox] = Settings(_env_file=None).accounts
    assert sandbox.name == "default"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("not json", "must be a JSON list"),
        ("[]", "empty list"),
        (json.dumps([account("a", "k", 1), account("a", "k2", 1)]), "names a more than once"),
        (json.dumps([account("Big Name", "k", 1)]), "should match pattern"),
        (json.dumps([account("a", "k", 0)]), "greater than or equal to 1"),
        (json.dumps([{"name": "a", "key": "k"}]), "Field required"),
        (json.dumps([account("a", " ", 1)]), "must not be empty"),
        (json.dumps([account("a", "k", 1, colour="red")]), "Extra inputs"),
        (json.dumps([account("a", "k", 1, retired=True)]), "only retired accounts"),
    ],
)
def test_bad_accounts_are_refused_at_start(value, says):
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, hf_accounts=value)
    assert says in str(caught.value)
    assert SECRET not in str(caught.value)


def test_the_accounts_list_and_the_key_shorthand_are_not_both_taken():
    with pytest.raises(ValidationError) as caught:
        Settings(
            _env_file=None, hf_accounts=json.dumps([account("a", "k", 1)]), hf_api_key="k", hf_api_secret="s"
        )
    assert "either HF_ACCOUNTS or HF_API_KEY" in str(caught.value)


def test_a_bad_account_stops_the_service_with_one_line_and_no_secret(tmp_path):
    value = json.dumps([account("a", "the-key-itself", 1), account("a", "another-key", 2)])
    result = subprocess.run(
        [sys.executable, "-m", "src.cli", "migrate"],
        cwd=SERVICE_DIR,
        env=service_env(SQLITE_PATH=tmp_path / "db.sqlite3", HF_ACCOUNTS=value),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Configuration error"), result.stderr
    assert "HF_ACCOUNTS names a more than once" in lines[0]
    assert "the-key-itself" not in result.stderr and SECRET not in result.stderr


def test_sandbox_accounts_are_names_and_caps():
    settings = Settings(_env_file=None, sandbox_accounts="a:2, b:3")
    assert settings.sandbox
    assert [(a.name, a.cap, reveal(a.key)) for a in settings.accounts] == [
        ("a", 2, "sandbox-a"),
        ("b", 3, "sandbox-b"),
    ]


@pytest.mark.parametrize(
    ("value", "says"),
    [("a:0", "greater than or equal to 1"), ("a", "valid integer"), ("A:1", "pattern"), ("a:1,a:2", "twice")],
)
def test_bad_sandbox_accounts_are_refused(value, says):
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, sandbox_accounts=value)
    assert says in str(caught.value)


# Dispatch across accounts


async def test_two_accounts_keep_five_tasks_in_flight_and_each_within_its_cap(db_url, fake):
    """A backlog of 20 with caps 2 and 3: the sandbox sees 5 jobs at once, never more than 2 of A or 3
    of B (a job over an account's cap would have met Higgsfield's 400: every task is sent once)."""
    fake.settings.reads_per_step, fake.settings.job_seconds = None, 0.6
    settings = with_accounts(db_url, fake, [account("a", KEY_A, 2), account("b", KEY_B, 3)])
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        owner = await register(client, "backlog")
        ids = await create_many(state, owner["client_id"], 20)
        state["jobs"].scheduler.resume()
        state["jobs"].submit.nudge()
        await eventually(lambda: all_final(ids), within=60, what="the backlog to end")
        statuses = await Task.filter(id__in=ids).values_list("status", flat=True)
        by_account = Counter(await Task.filter(id__in=ids).values_list("upstream_account", flat=True))
    assert set(statuses) == {"completed"}
    assert fake.max_live_by_account == {KEY_A: 2, KEY_B: 3}
    assert fake.max_live_jobs == 5
    assert fake.calls["dop"] == 20 == len(set(fake.prompts))  # no 400, none sent twice
    assert set(by_account) == {"a", "b"} and sum(by_account.values()) == 20


async def test_the_account_with_the_most_free_slots_is_preferred(db_url, fake):
    fake.settings.reads_per_step, fake.settings.job_seconds = None, None  # jobs stay queued
    settings = with_accounts(db_url, fake, [account("a", KEY_A, 1), account("b", KEY_B, 3)])
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        owner = await register(client, "prefers")
        ids = await create_many(state, owner["client_id"], 4)
        state["jobs"].scheduler.resume()
        state["jobs"].submit.nudge()
        await eventually(lambda: _queued(ids, 4), what="the four tasks to be sent")
        # Free slots 1 and 3: B, B, then 1 and 1 (a tie goes to the first configured) A, then B.
        accounts = [(await Task.get(id=task_id)).upstream_account for task_id in ids]
    assert accounts == ["b", "b", "a", "b"]


async def _queued(ids: list[str], count: int) -> bool:
    return await Task.filter(id__in=ids, status="queued").count() >= count


# Account health


async def test_an_account_answering_403_is_paused_and_the_backlog_finishes_on_the_other(db_url, fake):
    fake.settings.reads_per_step, fake.settings.job_seconds = None, 0.3
    fake.refuse(KEY_A, 403)
    settings = with_accounts(db_url, fake, [account("a", KEY_A, 3), account("b", KEY_B, 2)])
    async with running_app(settings) as (state, client):
        owner = await register(client, "credits")
        ids = await create_many(state, owner["client_id"], 10)
        state["jobs"].submit.nudge()
        await eventually(lambda: all_final(ids), within=60, what="the backlog to end on B")
        rows = await Task.filter(id__in=ids).values("status", "upstream_account", "attempts")
        paused = await AccountState.get(name="a")
        health = await client.get(f"/health/{HEALTH_UUID}")
        view = (await client.get("/api/admin/accounts", headers=ADMIN)).json()["accounts"]
    assert {row["status"] for row in rows} == {"completed"}
    assert {row["upstream_account"] for row in rows} == {"b"}
    assert {row["attempts"] for row in rows} == {1}  # a refusal is no attempt of the task
    assert fake.calls["dop"] == 10 == len(set(fake.prompts))  # each sent once, all with B
    assert fake.account_calls(KEY_A)["upload_url"] >= 1 and fake.account_calls(KEY_A)["dop"] == 0
    assert paused.paused_at is not None and "403" in (paused.last_error or "")
    assert health.status_code == 200
    assert health.json()["accounts"] == {"a": "paused", "b": "active"}
    assert [(v["name"], v["state"], v["free"]) for v in view] == [("a", "paused", 0), ("b", "active", 2)]
    assert "Not enough credits" in view[0]["last_error"] and view[0]["paused_at"] is not None


async def test_a_task_refused_at_submission_goes_to_the_other_account_and_is_sent_once(db_url, fake):
    """The image went up with A, then A's DoP call is refused: the task was `submitting`, goes back
    to pending (not failed) and is sent once, with B."""
    fake.settings.reads_per_step, fake.settings.job_seconds = None, 0.3
    fake.refuse(KEY_A, 401, endpoints=["dop"])
    settings = with_accounts(db_url, fake, [account("a", KEY_A, 2), account("b", KEY_B, 1)])
    async with running_app(settings) as (state, client):
        owner = await register(client, "refused")
        ids = await create_many(state, owner["client_id"], 4)
        state["jobs"].submit.nudge()
        await eventually(lambda: all_final(ids), within=60, what="the tasks to end on B")
        rows = await Task.filter(id__in=ids).values("status", "upstream_account")
        error = (await AccountState.get(name="a")).last_error
    assert {(row["status"], row["upstream_account"]) for row in rows} == {("completed", "b")}
    assert fake.account_calls(KEY_A)["dop"] >= 1
    assert fake.calls["dop"] - fake.account_calls(KEY_A)["dop"] == 4 == len(set(fake.prompts))
    assert "401" in (error or "")


async def test_a_paused_account_is_tried_again_after_the_pause(db_url, fake):
    """The one account refused: the task waits (health degraded); once Higgsfield takes the account
    again and the pause has run out, the task is sent and the account is active again."""
    fake.settings.reads_per_step = 1
    fake.refuse(KEY_A, 403)
    settings = with_accounts(db_url, fake, [account("a", KEY_A, 2)], hf_account_pause_seconds=1.0)
    async with running_app(settings) as (state, client):
        owner = await register(client, "patient")
        [task_id] = await create_many(state, owner["client_id"], 1)
        state["jobs"].submit.nudge()
        await eventually(_paused("a"), what="the account to be paused")
        health = await client.get(f"/health/{HEALTH_UUID}")
        assert health.status_code == 503
        assert health.json()["status"] == "degraded" and health.json()["accounts"] == {"a": "paused"}
        assert (await Task.get(id=task_id)).status == "pending"
        fake.refuse(KEY_A, None)
        await eventually(lambda: all_final([task_id]), within=20, what="the task to be sent after the pause")
        assert (await Task.get(id=task_id)).status == "completed"
        await eventually(_active("a"), what="the account to be active again")
        health = await client.get(f"/health/{HEALTH_UUID}")
    assert health.status_code == 200 and health.json()["accounts"] == {"a": "active"}
    assert fake.calls["dop"] == 1


def _active(name: str):
    async def check() -> bool:
        return (await AccountState.get(name=name)).paused_at is None

    return check


def _paused(name: str):
    async def check() -> bool:
        state = await AccountState.get_or_none(name=name)
        return state is not None and state.paused_at is not None

    return check


# A task stays with its account


async def test_a_task_sent_with_account_a_is_polled_and_canceled_with_as_key_after_a_restart(db_url, fake):
    fake.settings.reads_per_step, fake.settings.job_seconds = None, None  # jobs wait for the test
    first = with_accounts(db_url, fake, [account("a", KEY_A, 3), account("b", KEY_B, 2)])
    async with running_app(first) as (state, client):
        owner = await register(client, "restart")
        key = owner["api_key"]
        ids = await create_many(state, owner["client_id"], 2)
        state["jobs"].submit.nudge()
        await eventually(lambda: _queued(ids, 2), what="both tasks to be sent")
        assert set(await Task.filter(id__in=ids).values_list("upstream_account", flat=True)) == {"a"}
        job_ids = [(await _job_of(task_id)) for task_id in ids]
    reads_before = fake.account_calls(KEY_A)["job_set"]

    # A new instance, where B now has more room: the tasks still go through A.
    second = with_accounts(db_url, fake, [account("b", KEY_B, 5), account("a", KEY_A, 1)])
    async with running_app(second) as (state, client):
        canceled = await client.post(f"/api/higgsfield/i2v/{ids[0]}/cancel", headers={"X-API-KEY": key})
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["status"] == "canceled"
        fake.finish(job_ids[1], "completed")
        await eventually(lambda: all_final(ids[1:]), within=20, what="the other task to be read")
        assert (await Task.get(id=ids[1])).status == "completed"
    assert fake.account_calls(KEY_A)["cancel"] == 1
    assert fake.account_calls(KEY_A)["job_set"] > reads_before
    assert fake.account_calls(KEY_B) == Counter()  # B never read nor canceled them


async def _job_of(task_id: str) -> str:
    return str((await Task.get(id=task_id)).upstream_job_id)


async def test_a_task_of_an_account_no_longer_configured_is_left_alone(db_url, fake):
    """Removed while its task was with Higgsfield: the task is not read with another account's key
    and cannot be canceled; configured again (retired), it is followed to its end."""
    fake.settings.reads_per_step, fake.settings.job_seconds = None, None
    first = with_accounts(db_url, fake, [account("a", KEY_A, 1)])
    async with running_app(first) as (state, client):
        owner = await register(client, "removed")
        [task_id] = await create_many(state, owner["client_id"], 1)
        state["jobs"].submit.nudge()
        await eventually(lambda: _queued([task_id], 1), what="the task to be sent with A")
        job_id = await _job_of(task_id)
        sent_poll_at = (await Task.get(id=task_id)).next_attempt_at

    only_b = with_accounts(db_url, fake, [account("b", KEY_B, 1)])
    fake.settings.accounts[KEY_A] = 1  # A still exists at Higgsfield
    async with running_app(only_b) as (state, client):
        state["jobs"].poll.nudge()
        await eventually(_read_again(task_id, sent_poll_at), what="a poll round over the task")
        canceled = await client.post(
            f"/api/higgsfield/i2v/{task_id}/cancel", headers={"X-API-KEY": owner["api_key"]}
        )
        assert canceled.status_code == 409 and "no longer configured" in canceled.json()["detail"]
        assert (await Task.get(id=task_id)).status == "queued"
    assert fake.account_calls(KEY_B)["job_set"] == 0

    retired = with_accounts(db_url, fake, [account("b", KEY_B, 1), account("a", KEY_A, 1, retired=True)])
    fake.finish(job_id, "completed")
    async with running_app(retired) as (state, client):
        await eventually(lambda: all_final([task_id]), within=20, what="the retired account's task to end")
        assert (await Task.get(id=task_id)).status == "completed"
        view = (await client.get("/api/admin/accounts", headers=ADMIN)).json()["accounts"]
    assert [(v["name"], v["state"], v["free"]) for v in view] == [("b", "active", 1), ("a", "retired", 0)]


def _read_again(task_id: str, before):
    """The poller took the task (and found nothing to read it with): its next read moved on."""

    async def check() -> bool:
        return (await Task.get(id=task_id)).next_attempt_at != before

    return check


# What operators see


async def test_the_admin_view_shows_each_account_and_never_a_key_or_secret(db_url, fake):
    settings = with_accounts(db_url, fake, [account("a", KEY_A, 2), account("b", KEY_B, 3, api_version="v1")])
    async with running_app(settings) as (_state, client):
        missing = await client.get("/api/admin/accounts")
        wrong = await client.get("/api/admin/accounts", headers={"X-ADMIN-TOKEN": "x" * 40})
        response = await client.get("/api/admin/accounts", headers=ADMIN)
        metrics = (await client.get("/metrics")).text
    assert missing.status_code == wrong.status_code == 401
    assert response.status_code == 200
    assert response.json() == {
        "accounts": [
            {
                "name": "a",
                "api_version": "v2",
                "max_concurrency": 2,
                "busy": 0,
                "free": 2,
                "state": "active",
                "paused_at": None,
                "last_error": None,
                "last_error_at": None,
            },
            {
                "name": "b",
                "api_version": "v1",
                "max_concurrency": 3,
                "busy": 0,
                "free": 3,
                "state": "active",
                "paused_at": None,
                "last_error": None,
                "last_error_at": None,
            },
        ]
    }
    for secret in (KEY_A, KEY_B, SECRET):
        assert secret not in response.text and secret not in metrics
    assert 'hfapi_account_slots{account="b",slots="free"} 3.0' in metrics
    assert 'hfapi_account_state{account="a",state="active"} 1.0' in metrics


# Migration 0013: the tasks already sent belong to the one account there was, `default`

BEFORE_ACCOUNTS = "models.0011_output_copies"


@pytest.fixture(params=["sqlite", "mysql"])
def database_before_accounts(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A database of its own (not the session's), migrated up to 0011."""
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'old.sqlite3'}"
        databases.migrate(url, target=BEFORE_ACCOUNTS)
        yield url
        return
    base = databases.mysql_url()
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TEST_MYSQL_URL is not set: the MariaDB tests must run in CI")
        pytest.skip("TEST_MYSQL_URL is not set")
    parts = urlparse(base)
    url = parts._replace(path=parts.path.rstrip("/") + "_before_0013").geturl()
    databases.recreate_mysql(url)
    try:
        databases.migrate(url, target=BEFORE_ACCOUNTS)
        yield url
    finally:
        conn = databases._mysql_connect(url, with_db=False)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{urlparse(url).path.lstrip('/')}`")
        finally:
            conn.close()


def execute(url: str, sql: str, rows: list[tuple]) -> None:
    """Plain driver statements, `?` placeholders on both databases."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            conn.executemany(sql, rows)
        return
    conn = databases._mysql_connect(url)
    try:
        with conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)
    finally:
        conn.close()


def insert_tasks_of_0011(url: str, statuses: dict[str, tuple[str, str | None]]) -> dict[str, str]:
    """A client and its tasks as the service stored them before accounts: {name: (status, job)}."""
    client_id, now = str(uuid.uuid4()), utcnow().strftime("%Y-%m-%d %H:%M:%S")  # within every deadline
    execute(
        url,
        "INSERT INTO clients (id, login, login_key, password_hash, webhook_secret, created_at) "
        "VALUES (?, 'old', 'old', 'x', 'whsec_old', ?)",
        [(client_id, now)],
    )
    ids = {name: str(uuid.uuid4()) for name in statuses}
    execute(
        url,
        "INSERT INTO tasks (id, client_id, status, prompt, motion, motion_id, model, duration, "
        "motion_strength, enhance_prompt, attempts, upstream_job_id, upstream_api, next_attempt_at, "
        "submitted_at, created_at, updated_at) "
        "VALUES (?, ?, ?, '', 'GENERAL', 'm', 'standard', 5, 0.5, 0, 1, ?, 'v2', ?, ?, ?, ?)",
        [(ids[name], client_id, status, job, now, now, now, now) for name, (status, job) in statuses.items()],
    )
    return ids


async def test_migration_0013_gives_the_tasks_already_sent_to_the_default_account(
    database_before_accounts, fake
):
    url = database_before_accounts
    fake.settings.reads_per_step, fake.settings.job_seconds = None, None
    job = fake.submit(
        {"image_url": "x"}, "sent before accounts", version="v2", path="/higgsfield-ai/dop/standard"
    )
    ids = insert_tasks_of_0011(
        url,
        {
            "queued": ("queued", job.job_set_id),
            "completed": ("completed", "old-done"),
            "submitting": ("submitting", None),
            "pending": ("pending", None),
        },
    )
    databases.migrate(url)

    async with running_app(make_settings(url, fake.url)) as (_state, _client):
        accounts = {name: (await Task.get(id=task_id)).upstream_account for name, task_id in ids.items()}
        assert accounts == {
            "queued": "default",
            "completed": "default",
            "submitting": "default",
            "pending": None,
        }
        assert await AccountState.get_or_none(name="default") is not None
        fake.finish(job.job_set_id, "completed")
        await eventually(lambda: all_final([ids["queued"]]), within=20, what="the old task to be read")
        assert (await Task.get(id=ids["queued"])).status == "completed"
    assert fake.account_calls("test-key")["job_set"] >= 1  # HF_API_KEY's account: `default`


async def test_no_account_key_or_secret_is_logged(db_url, fake, caplog):
    """The whole way of two accounts, one refused, with every logger at DEBUG."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    key_a, key_b = "acct-key-a-5d1c9e7f3b2a4c6e8f0a1b3c", "acct-key-b-8e2f4a6c0d1b3e5f7a9c2d4e"
    secret = "acct-secret-3f5a7c9e1b2d4f6a8c0e2b4d"
    fake.settings.api_secret = secret
    fake.refuse(key_a, 403)
    accounts = [
        {"name": "a", "key": key_a, "secret": secret, "max_concurrency": 2},
        {"name": "b", "key": key_b, "secret": secret, "max_concurrency": 1},
    ]
    settings = with_accounts(db_url, fake, accounts)
    async with running_app(settings) as (state, client):
        owner = await register(client, "quiet")
        ids = await create_many(state, owner["client_id"], 2)
        state["jobs"].submit.nudge()
        await eventually(lambda: all_final(ids), within=30, what="the tasks to end on B")
        assert (await client.get("/api/admin/accounts", headers=ADMIN)).status_code == 200
        assert (await client.get(f"/health/{HEALTH_UUID}")).status_code == 200
    lines = [record.getMessage() + repr(record.args) for record in caplog.records]
    assert any("refused the account 'a'" in line for line in lines)
    for value in (key_a, key_b, secret):
        assert not [line for line in lines if value in line]
