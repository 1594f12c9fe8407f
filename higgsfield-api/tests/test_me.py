"""The caller's own client: who it is (GET /api/auth/me), its default callback URL (PUT and
DELETE /api/auth/me/callback) used by the tasks created without one, and `username` as a
synonym of `login`. Migration 0012 brings a database of 0011 to the columns these need."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
from argon2 import PasswordHasher
from standardwebhooks.webhooks import Webhook

from src.db.models import ApiKey, Client, Task
from tests.support import databases
from tests.support.app import ADMIN_TOKEN, PASSWORD, eventually, make_settings, register, running_app
from tests.support.images import png
from tests.test_lifecycle import final
from tests.test_logins_without_case import migrate_cli

ME = "/api/auth/me"
CALLBACK = "/api/auth/me/callback"
I2V = "/api/higgsfield/i2v/"
ADMIN = {"X-ADMIN-TOKEN": ADMIN_TOKEN}


def key(api_key: str) -> dict[str, str]:
    return {"X-API-KEY": api_key}


async def create(client, api_key: str, **data: str) -> dict:
    files = {"image": ("in.png", png(), "image/png")}
    response = await client.post(I2V, headers=key(api_key), files=files, data=data)
    assert response.status_code == 202, response.text
    return response.json()


async def test_me_says_who_the_key_belongs_to_and_no_secret(service):
    issued = await register(service.client, "Acme-Studio")
    response = await service.client.get(ME, headers=key(issued["api_key"]))
    assert response.status_code == 200, response.text
    me = response.json()
    client = await Client.get(id=issued["client_id"])
    stored_key = await ApiKey.get(client_id=client.id)
    assert me == {
        "client_id": issued["client_id"],
        "login": "Acme-Studio",
        "created_at": me["created_at"],
        "callback_url": None,
        "key_issued_at": me["key_issued_at"],
        "rate_limit": {"per_minute": 60, "remaining": 60, "resets_in_seconds": 0},
    }
    assert datetime.fromisoformat(me["created_at"]) == client.created_at
    assert datetime.fromisoformat(me["key_issued_at"]) == stored_key.created_at
    assert issued["api_key"] not in response.text and issued["webhook_secret"] not in response.text


async def test_me_names_the_key_of_the_call_among_the_clients_keys(service):
    first = await register(service.client, "acme")
    second = (
        await service.client.post("/api/auth/login", json={"login": "acme", "password": PASSWORD})
    ).json()
    issued = {row["id"]: row["created_at"] for row in await ApiKey.all().values("id", "created_at")}
    assert len(issued) == 2
    await ApiKey.filter(id=min(issued)).update(created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    older = (await service.client.get(ME, headers=key(first["api_key"]))).json()
    newer = (await service.client.get(ME, headers=key(second["api_key"]))).json()
    assert older["client_id"] == newer["client_id"] == first["client_id"]
    assert datetime.fromisoformat(older["key_issued_at"]) == (await ApiKey.get(id=min(issued))).created_at
    assert datetime.fromisoformat(newer["key_issued_at"]) == issued[max(issued)]


async def test_me_counts_the_tasks_of_the_last_minute_against_the_rate_limit(service, api_key, other_api_key):
    for _ in range(2):
        await create(service.client, api_key)
    await create(service.client, other_api_key)  # another client's task counts for that client only
    limit = (await service.client.get(ME, headers=key(api_key))).json()["rate_limit"]
    assert limit["per_minute"] == 60 and limit["remaining"] == 58
    assert 1 <= limit["resets_in_seconds"] <= 60


async def test_me_and_the_callback_calls_are_401_without_a_valid_key(service, api_key):
    for headers in ({}, key("hf_" + "x" * 40)):
        assert (await service.client.get(ME, headers=headers)).status_code == 401
        put = await service.client.put(CALLBACK, headers=headers, json={"url": "https://example.com/h"})
        assert put.status_code == 401
        assert (await service.client.delete(CALLBACK, headers=headers)).status_code == 401
    await service.client.post("/api/auth/logout", headers=key(api_key))
    assert (await service.client.get(ME, headers=key(api_key))).status_code == 401


async def test_the_default_callback_is_set_shown_and_cleared(service, api_key):
    url = "https://example.com/hooks/hf?client=7"
    put = await service.client.put(CALLBACK, headers=key(api_key), json={"url": url})
    assert put.status_code == 200, put.text
    assert put.json()["callback_url"] == url
    me = (await service.client.get(ME, headers=key(api_key))).json()
    assert me == put.json()
    for _ in range(2):  # clearing is idempotent
        cleared = await service.client.delete(CALLBACK, headers=key(api_key))
        assert cleared.status_code == 204 and cleared.content == b""
        assert (await service.client.get(ME, headers=key(api_key))).json()["callback_url"] is None


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"url": "ftp://example.com/hook"}, ["body", "url"]),
        ({"url": "/relative/hook"}, ["body", "url"]),
        ({"url": "https://example.com/" + "a" * 2048}, ["body", "url"]),
        ({"url": "https://example.com/\x00"}, ["body", "url"]),
        ({"url": ""}, ["body", "url"]),
        ({"url": None}, ["body", "url"]),
        ({}, ["body", "url"]),
        ({"url": "https://example.com/h", "secret": "x"}, ["body", "secret"]),
    ],
)
async def test_a_bad_default_callback_is_a_422_naming_the_field_and_nothing_is_stored(
    service, api_key, body, loc
):
    response = await service.client.put(CALLBACK, headers=key(api_key), json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc
    assert await Client.filter(callback_url__not_isnull=True).count() == 0


async def test_a_private_default_callback_is_refused_as_a_tasks_is(db_url, fake):
    settings = make_settings(db_url, fake.url, callback_allow_private=False)
    async with running_app(settings) as (_state, client):
        api_key = (await register(client))["api_key"]
        for url in ("http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/hook"):
            response = await client.put(CALLBACK, headers=key(api_key), json={"url": url})
            assert response.status_code == 422, response.text
            [error] = response.json()["detail"]
            assert error["loc"] == ["body", "url"] and "callback_url must" in error["msg"]
        assert (await client.get(ME, headers=key(api_key))).json()["callback_url"] is None


async def test_a_create_without_callback_url_takes_the_default_as_it_is_then(service, api_key, receiver):
    await service.client.put(CALLBACK, headers=key(api_key), json={"url": receiver.hook_url})
    defaulted = await create(service.client, api_key, prompt="by default")
    own_url = receiver.url + "/elsewhere"
    overridden = await create(service.client, api_key, prompt="its own", callback_url=own_url)
    assert defaulted["callback"]["url"] == receiver.hook_url
    assert overridden["callback"]["url"] == own_url

    # A later change of the default leaves the tasks already made as they are.
    await service.client.put(CALLBACK, headers=key(api_key), json={"url": "https://example.com/new"})
    later = (await service.client.get(f"{I2V}{defaulted['id']}", headers=key(api_key))).json()
    assert later["callback"]["url"] == receiver.hook_url
    await service.client.delete(CALLBACK, headers=key(api_key))
    assert (await create(service.client, api_key))["callback"] is None

    # The default receives the task's callback, signed as any other.
    secret = (await Client.get(login="acme")).webhook_secret
    await final(service.client, api_key, defaulted["id"])

    async def delivered() -> list:
        return [hit for hit in receiver.hits() if f"msg_{defaulted['id']}" == hit.headers["webhook-id"]]

    [hit] = await eventually(delivered, what="the default callback")
    assert Webhook(secret).verify(hit.body, hit.headers)["id"] == defaulted["id"]
    own = await eventually(lambda: _hits(receiver, "/elsewhere"), what="the task's own callback")
    assert [h.headers["webhook-id"] for h in own] == [f"msg_{overridden['id']}"]


async def _hits(receiver, path: str) -> list:
    return receiver.hits(path)


async def test_username_is_a_synonym_of_login_for_registration_and_login(service):
    registered = await service.client.post(
        "/api/auth/registration", json={"username": "Initech", "password": PASSWORD}, headers=ADMIN
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["login"] == "Initech" and "username" not in registered.json()
    for body in ({"username": "initech", "password": PASSWORD}, {"login": "INITECH", "password": PASSWORD}):
        logged_in = await service.client.post("/api/auth/login", json=body)
        assert logged_in.status_code == 200, logged_in.text
        assert logged_in.json()["login"] == "Initech"
    wrong = await service.client.post(
        "/api/auth/login", json={"username": "initech", "password": "wrong password"}
    )
    assert wrong.status_code == 401


@pytest.mark.parametrize("path", ["/api/auth/registration", "/api/auth/login"])
@pytest.mark.parametrize(
    ("names", "words"),
    [
        ({"login": "acme", "username": "acme"}, ("login", "username", "not both")),
        ({}, ("login", "username")),
        ({"username": "a"}, ("at least 3",)),
    ],
)
async def test_login_and_username_both_or_neither_is_a_422_naming_them(service, path, names, words):
    response = await service.client.post(path, json={**names, "password": PASSWORD}, headers=ADMIN)
    assert response.status_code == 422, response.text
    message = " ".join(error["msg"] for error in response.json()["detail"])
    assert all(word in message for word in words), message
    assert await Client.all().count() == 0


@pytest.fixture(params=["sqlite", "mysql"])
def database_at_0011(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A database of its own, migrated up to 0011, with a client and one of its tasks."""
    target = "models.0011_output_copies"
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'at_0011.sqlite3'}"
        databases.migrate(url, target=target)
        _insert_client_and_task(url)
        yield url
        return
    base = databases.mysql_url()
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TEST_MYSQL_URL is not set: the MariaDB tests must run in CI")
        pytest.skip("TEST_MYSQL_URL is not set")
    parts = urlparse(base)
    url = parts._replace(path=parts.path.rstrip("/") + "_at_0011").geturl()
    databases.recreate_mysql(url)
    try:
        databases.migrate(url, target=target)
        _insert_client_and_task(url)
        yield url
    finally:
        conn = databases._mysql_connect(url, with_db=False)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{urlparse(url).path.lstrip('/')}`")
        finally:
            conn.close()


TASK_ID = str(uuid.uuid4())


def _insert_client_and_task(url: str) -> None:
    """Carol and a task of hers that ended, as the service stored them before 0012."""
    client_id, moment = str(uuid.uuid4()), "2026-01-01 00:00:00"
    client = (client_id, "carol", "carol", PasswordHasher().hash(PASSWORD), "whsec_old", moment)
    task = (
        TASK_ID,
        client_id,
        "failed",
        "old",
        "GENERAL",
        "m-1",
        "standard",
        5,
        0.5,
        0,
        1,
        moment,
        moment,
        moment,
    )
    statements = [
        ("INSERT INTO clients (id, login, login_key, password_hash, webhook_secret, created_at)", client),
        (
            "INSERT INTO tasks (id, client_id, status, prompt, motion, motion_id, model, duration, "
            "motion_strength, enhance_prompt, attempts, next_attempt_at, created_at, updated_at)",
            task,
        ),
    ]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            for sql, row in statements:
                conn.execute(f"{sql} VALUES ({', '.join('?' * len(row))})", row)
        return
    conn = databases._mysql_connect(url)
    try:
        with conn.cursor() as cur:
            for sql, row in statements:
                cur.execute(f"{sql} VALUES ({', '.join(['%s'] * len(row))})", row)
    finally:
        conn.close()


async def test_migration_0012_adds_the_default_callback_and_retry_of_to_a_0011_database(
    database_at_0011, fake
):
    result = migrate_cli(database_at_0011)
    assert result.returncode == 0, result.stderr
    settings = make_settings(database_at_0011, fake.url)
    async with running_app(settings) as (_state, client):
        logged_in = await client.post("/api/auth/login", json={"username": "carol", "password": PASSWORD})
        assert logged_in.status_code == 200, logged_in.text
        api_key = logged_in.json()["api_key"]
        assert (await client.get(ME, headers=key(api_key))).json()["callback_url"] is None
        old = (await client.get(f"{I2V}{TASK_ID}", headers=key(api_key))).json()
        assert old["retry_of"] is None and old["status"] == "failed"
        put = await client.put(CALLBACK, headers=key(api_key), json={"url": "https://example.com/h"})
        assert put.status_code == 200, put.text
        # The old task has no image left anywhere: its retry says so.
        retried = await client.post(f"{I2V}{TASK_ID}/retry", headers=key(api_key))
        assert retried.status_code == 409 and "image is gone" in retried.json()["detail"]
        assert await Task.all().count() == 1
