"""The service as real processes: the `make run` way through the sandbox, and two replicas."""

from __future__ import annotations

import json
import sqlite3
import time

import httpx

from tests.support.app import ADMIN_TOKEN, PASSWORD
from tests.support.images import png
from tests.support.processes import ServerProcess, free_port, run_cli, service_env

I2V = "/api/higgsfield/i2v/"
FINAL = ("completed", "failed", "nsfw", "canceled")


def wait_final(client: httpx.Client, key: str, task_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.get(f"{I2V}{task_id}", headers={"X-API-KEY": key}).json()
        if task["status"] in FINAL:
            return task
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not end: {task}")


def test_make_run_way_takes_a_task_to_completed_through_the_sandbox(tmp_path):
    env = service_env(
        PORT=free_port(),
        SQLITE_PATH=tmp_path / "service.sqlite3",
        SANDBOX_JOB_SECONDS=1,
        POLL_INTERVAL_SECONDS=0.3,
        WEB_CONCURRENCY=2,  # as `WEB_CONCURRENCY=2 make run`: two workers share one database
    )
    log = tmp_path / "server.log"
    run_cli("migrate", env, log)
    server = ServerProcess(env, log)
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            registered = client.post(
                "/api/auth/registration",
                json={"login": "newcomer", "password": PASSWORD},
                headers={"X-ADMIN-TOKEN": ADMIN_TOKEN},
            )
            assert registered.status_code == 201, registered.text
            login = client.post("/api/auth/login", json={"login": "newcomer", "password": PASSWORD})
            key = login.json()["api_key"]
            deadline = time.monotonic() + 20
            while not client.get("/api/higgsfield/motions", headers={"X-API-KEY": key}).json():
                assert time.monotonic() < deadline, "the sandbox catalog never loaded"
                time.sleep(0.2)
            created = client.post(
                I2V,
                headers={"X-API-KEY": key},
                files={"image": ("in.png", png(), "image/png")},
                data={"prompt": "waves", "motion": "CRASH_ZOOM_IN", "model": "lite"},
            )
            assert created.status_code == 202, created.text
            task = wait_final(client, key, created.json()["id"])
            assert task["status"] == "completed", task
            video = httpx.get(task["video_url"], timeout=10)
            thumbnail = httpx.get(task["thumbnail_url"], timeout=10)
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"  # an MP4 file
        assert thumbnail.status_code == 200 and thumbnail.headers["content-type"].startswith("image/")
    finally:
        # A graceful stop: uvicorn finishes its shutdown, then re-raises the SIGTERM it caught.
        assert server.stop() in (0, -15), log.read_text()[-3000:]
    assert "Application shutdown complete" in log.read_text()
    assert "SANDBOX" in log.read_text()


def post_the_moment_it_listens(server: ServerProcess, path: str, **kwargs) -> httpx.Response:
    """Sends the request on the first connection the port accepts (uvicorn binds once its start-up
    is done); a refused connection never carried the request, so trying again is safe."""
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=server.url, timeout=10) as client:
        while time.monotonic() < deadline:
            assert server.process.poll() is None, server.log.read_text()[-3000:]
            try:
                return client.post(path, **kwargs)
            except httpx.ConnectError:
                time.sleep(0.005)
    raise AssertionError(f"the server never listened:\n{server.log.read_text()[-3000:]}")


def test_a_create_sent_the_moment_the_sandbox_server_listens_is_accepted(tmp_path):
    """The sandbox is served by the same process, so its catalog cannot be fetched over HTTP before
    the server listens; it is loaded at start-up all the same, and the first create is a 202."""
    database = tmp_path / "service.sqlite3"
    env = service_env(PORT=free_port(), SQLITE_PATH=database)
    log = tmp_path / "server.log"
    run_cli("migrate", env, log)
    first = ServerProcess(env, log)
    try:
        first.wait_ready()
        registered = httpx.post(
            f"{first.url}/api/auth/registration",
            json={"login": "newcomer", "password": PASSWORD},
            headers={"X-ADMIN-TOKEN": ADMIN_TOKEN},
            timeout=10,
        )
        assert registered.status_code == 201, registered.text
        key = registered.json()["api_key"]
    finally:
        first.stop()
    with sqlite3.connect(database) as conn:  # a fresh start: no catalog cached from the last run
        conn.execute("DELETE FROM motions")

    server = ServerProcess(env, log)
    try:
        created = post_the_moment_it_listens(
            server,
            I2V,
            headers={"X-API-KEY": key},
            files={"image": ("in.png", png(), "image/png")},
            data={"prompt": "waves", "motion": "crash_zoom_in"},
        )
    finally:
        server.stop()
    assert created.status_code == 202, created.text
    assert created.json()["motion"] == "CRASH_ZOOM_IN"
    assert "Loading the motion catalog failed" not in log.read_text()


def test_two_processes_on_one_database_send_each_task_once_and_call_back_once(
    tmp_path, db_url, fake, receiver
):
    """Two replicas on one database, 200 tasks created through both: every task is submitted
    exactly once, ends once, and its callback is delivered exactly once."""
    fake.settings.reads_per_step = 1
    common = {
        "DATABASE_URL": db_url,
        "HF_API_KEY": "test-key",
        "HF_API_SECRET": "test-secret",
        "HF_BASE_URL": fake.url,
        "POLL_INTERVAL_SECONDS": 0.2,
        "HF_MAX_CONCURRENCY": 50,
        "RETRY_BASE_SECONDS": 0.1,
        "RATE_LIMIT_PER_MINUTE": 1000,
        "CALLBACK_ALLOW_PRIVATE": "true",  # the receiver listens on loopback
    }
    log = tmp_path / "servers.log"
    servers = [ServerProcess(service_env(PORT=free_port(), **common), log) for _ in range(2)]
    count = 200
    try:
        for server in servers:
            server.wait_ready()
        clients = [httpx.Client(base_url=server.url, timeout=10) for server in servers]
        registered = clients[0].post(
            "/api/auth/registration",
            json={"login": "replicas", "password": PASSWORD},
            headers={"X-ADMIN-TOKEN": ADMIN_TOKEN},
        )
        key = registered.json()["api_key"]
        deadline = time.monotonic() + 20
        while not clients[1].get("/api/higgsfield/motions", headers={"X-API-KEY": key}).json():
            assert time.monotonic() < deadline
            time.sleep(0.2)
        ids = []
        for n in range(count):
            response = clients[n % 2].post(
                I2V,
                headers={"X-API-KEY": key},
                files={"image": ("in.png", png(), "image/png")},
                data={"prompt": f"task {n}", "callback_url": receiver.hook_url},
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        statuses = [
            wait_final(clients[n % 2], key, task_id, timeout=90)["status"] for n, task_id in enumerate(ids)
        ]
        deadline = time.monotonic() + 30
        while len(receiver.hits()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # a double delivery, if any, would arrive now
        for client in clients:
            client.close()
    finally:
        for server in servers:
            server.stop()
    assert statuses == ["completed"] * count
    prompts = fake.prompts
    assert len(prompts) == count == len(set(prompts))
    delivered = [hit.headers["webhook-id"] for hit in receiver.hits()]
    assert sorted(delivered) == sorted(f"msg_{task_id}" for task_id in ids)


def create_tasks(clients: list[httpx.Client], key: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        response = clients[n % len(clients)].post(
            I2V,
            headers={"X-API-KEY": key},
            files={"image": ("in.png", png(), "image/png")},
            data={"prompt": f"task {n}"},
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def register_and_wait_for_the_catalog(clients: list[httpx.Client]) -> str:
    registered = clients[0].post(
        "/api/auth/registration",
        json={"login": "accounts", "password": PASSWORD},
        headers={"X-ADMIN-TOKEN": ADMIN_TOKEN},
    )
    assert registered.status_code == 201, registered.text
    key = registered.json()["api_key"]
    deadline = time.monotonic() + 20
    for client in clients:
        while not client.get("/api/higgsfield/motions", headers={"X-API-KEY": key}).json():
            assert time.monotonic() < deadline, "the catalog never loaded"
            time.sleep(0.2)
    return key


def test_two_processes_on_one_database_hold_each_accounts_cap_together(tmp_path, db_url, fake):
    """Two replicas, two accounts with caps 2 and 3, a backlog of 30 created through both: the
    sandbox never sees more than an account's cap at once (it would have answered Higgsfield's
    400, and a task would have been sent more than once or later), and sees both caps reached."""
    fake.settings.reads_per_step, fake.settings.job_seconds = None, 0.5
    fake.settings.accounts = {"key-a": 2, "key-b": 3}
    accounts = [
        {"name": "a", "key": "key-a", "secret": "test-secret", "max_concurrency": 2},
        {"name": "b", "key": "key-b", "secret": "test-secret", "max_concurrency": 3},
    ]
    common = {
        "DATABASE_URL": db_url,
        "HF_ACCOUNTS": json.dumps(accounts),
        "HF_BASE_URL": fake.url,
        "POLL_INTERVAL_SECONDS": 0.1,
        "RETRY_BASE_SECONDS": 0.1,
        "RATE_LIMIT_PER_MINUTE": 1000,
    }
    log = tmp_path / "servers.log"
    servers = [ServerProcess(service_env(PORT=free_port(), **common), log) for _ in range(2)]
    count = 30
    try:
        for server in servers:
            server.wait_ready()
        clients = [httpx.Client(base_url=server.url, timeout=10) for server in servers]
        key = register_and_wait_for_the_catalog(clients)
        ids = create_tasks(clients, key, count)
        statuses = [
            wait_final(clients[n % 2], key, task_id, timeout=120)["status"] for n, task_id in enumerate(ids)
        ]
        for client in clients:
            client.close()
    finally:
        for server in servers:
            server.stop()
    assert statuses == ["completed"] * count
    assert fake.max_live_by_account == {"key-a": 2, "key-b": 3}
    assert fake.calls["dop"] == count == len(set(fake.prompts))


def test_the_sandbox_runs_several_accounts_each_with_its_cap(tmp_path):
    """`SANDBOX_ACCOUNTS=a:1,b:2 make run`: the service sends with both sandbox accounts, and the
    admin view lists them."""
    database = tmp_path / "service.sqlite3"
    env = service_env(
        PORT=free_port(),
        SQLITE_PATH=database,
        SANDBOX_JOB_SECONDS=0.5,
        POLL_INTERVAL_SECONDS=0.2,
        SANDBOX_ACCOUNTS="a:1,b:2",
    )
    log = tmp_path / "server.log"
    run_cli("migrate", env, log)
    server = ServerProcess(env, log)
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            key = register_and_wait_for_the_catalog([client])
            ids = create_tasks([client], key, 6)
            statuses = [wait_final(client, key, task_id)["status"] for task_id in ids]
            view = client.get("/api/admin/accounts", headers={"X-ADMIN-TOKEN": ADMIN_TOKEN}).json()
    finally:
        server.stop()
    assert statuses == ["completed"] * 6
    assert [(a["name"], a["max_concurrency"], a["state"]) for a in view["accounts"]] == [
        ("a", 1, "active"),
        ("b", 2, "active"),
    ]
    with sqlite3.connect(database) as conn:
        used = {row[0] for row in conn.execute("SELECT upstream_account FROM tasks")}
    assert used == {"a", "b"}
