"""A worker process killed with SIGKILL at each step of a task's life: after a restart nothing
is lost and nothing is sent to Higgsfield twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from src.sandbox.app import asset_bytes
from src.upstream.submit import UNKNOWN_OUTCOME
from tests.support.app import ADMIN_TOKEN, PASSWORD
from tests.support.databases import blob_dir, task_columns
from tests.support.images import png
from tests.support.processes import ServerProcess, free_port, service_env

I2V = "/api/higgsfield/i2v/"


def until(check: Callable[[], object], what: str, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Replica:
    """One server process over the test's database and fake Higgsfield."""

    def __init__(self, db_url: str, fake, log, **settings: str | float) -> None:
        defaults: dict[str, str | float] = {
            "POLL_INTERVAL_SECONDS": 0.1,
            "LEASE_SECONDS": 1,
            "RETRY_BASE_SECONDS": 0.1,
            "RETRY_MAX_SECONDS": 0.3,
        }
        env = service_env(
            PORT=free_port(),
            DATABASE_URL=db_url,
            HF_API_KEY="test-key",
            HF_API_SECRET="test-secret",
            HF_BASE_URL=fake.url,
            **{**defaults, **settings},
        )
        self.server = ServerProcess(env, log)
        self.server.wait_ready()
        self.http = httpx.Client(base_url=self.server.url, timeout=10)

    def task(self, key: str, task_id: str) -> dict:
        return self.http.get(f"{I2V}{task_id}", headers={"X-API-KEY": key}).json()

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def replicas(tmp_path, db_url, fake):
    started: list[Replica] = []

    def start(**settings: str | float) -> Replica:
        replica = Replica(db_url, fake, tmp_path / "server.log", **settings)
        started.append(replica)
        return replica

    yield start
    for replica in started:
        replica.close()
        if replica.server.process.poll() is None:
            replica.server.stop()


def first_task(replica: Replica) -> tuple[str, str]:
    """Registers a client and creates one task; returns (api key, task id)."""
    registered = replica.http.post(
        "/api/auth/registration",
        json={"login": "crashy", "password": PASSWORD},
        headers={"X-ADMIN-TOKEN": ADMIN_TOKEN},
    )
    key = registered.json()["api_key"]
    until(
        lambda: replica.http.get("/api/higgsfield/motions", headers={"X-API-KEY": key}).json(), "the catalog"
    )
    created = replica.http.post(
        I2V, headers={"X-API-KEY": key}, files={"image": ("in.png", png(), "image/png")}
    )
    assert created.status_code == 202, created.text
    return key, created.json()["id"]


def final(replica: Replica, key: str, task_id: str) -> dict:
    box: dict = {}

    def done() -> bool:
        box.update(replica.task(key, task_id))
        return box["status"] in ("completed", "failed", "nsfw", "canceled")

    until(done, f"task {task_id} to end", within=30)
    return box


def test_killed_right_after_accepting_a_task(replicas, fake):
    fake.fail_next("upload_url", [503] * 10_000)  # nothing can be sent before the crash
    first = replicas()
    key, task_id = first_task(first)
    first.server.kill()
    fake.reset()
    done = final(replicas(), key, task_id)
    assert done["status"] == "completed"
    assert len(fake.submissions) == 1


def test_killed_while_uploading_the_image(replicas, fake):
    fake.hang_next("put", 30)
    first = replicas()
    key, task_id = first_task(first)
    until(lambda: fake.calls["put"] >= 1, "the upload to start")
    first.server.kill()
    done = final(replicas(), key, task_id)
    assert done["status"] == "completed"
    assert len(fake.submissions) == 1


def test_killed_between_higgsfields_answer_and_the_database_write(replicas, fake):
    """Higgsfield made the job, the answer never got recorded: the task must not be sent
    again; it ends failed with a reason that says so."""
    fake.hang_next("dop", 30, after=True)
    first = replicas()
    key, task_id = first_task(first)
    until(lambda: len(fake.submissions) == 1, "the job to exist upstream")
    first.server.kill()
    done = final(replicas(), key, task_id)
    assert done["status"] == "failed" and done["error"] == UNKNOWN_OUTCOME
    assert len(fake.submissions) == 1


def test_killed_while_higgsfield_works_on_the_job(replicas, fake):
    fake.settings.reads_per_step = None
    first = replicas()
    key, task_id = first_task(first)
    until(lambda: first.task(key, task_id)["status"] == "queued", "the task to be queued")
    first.server.kill()
    second = replicas()
    fake.advance_all()
    fake.advance_all()
    done = final(second, key, task_id)
    assert done["status"] == "completed" and done["video_url"]
    assert len(fake.submissions) == 1


def test_killed_while_copying_the_video(replicas, fake, db_url):
    """The copy is cut short mid-file: the restart takes it over once the claim runs out, deletes
    the half-written file and stores the whole video, byte for byte."""
    outputs = blob_dir(db_url) / "outputs"
    fake.settings.output_seconds = 30  # the video trickles in
    first = replicas(OUTPUT_TIMEOUT_SECONDS=5)
    key, task_id = first_task(first)

    until(lambda: list(outputs.glob(f".tmp-{task_id}.video.*")), "the download to be under way")
    first.server.kill()
    fake.settings.output_seconds = 0
    second = replicas(OUTPUT_TIMEOUT_SECONDS=5)
    until(lambda: (second.task(key, task_id)["output"] or {}).get("state") == "stored", "the copy")
    video = second.http.get(f"{I2V}{task_id}/video", headers={"X-API-KEY": key})
    assert video.status_code == 200 and video.content == asset_bytes("video.mp4")
    assert sorted(path.name for path in outputs.iterdir()) == [f"{task_id}.thumbnail", f"{task_id}.video"]
    assert fake.calls["output"] == 3  # the video cut short, then the video and the thumbnail


def test_killed_while_reading_a_jobs_status(replicas, fake, db_url):
    """A status read hangs and its worker is killed: the poller's claim on the task lasts the
    read's timeout and a margin, not LEASE_SECONDS, so the restart reads it again soon and the
    task completes."""
    fake.settings.reads_per_step = None  # the job moves only when the test says
    settings = {"LEASE_SECONDS": 120, "HF_STATUS_TIMEOUT_SECONDS": 2}
    fake.hang_next("job_set", 60)
    first = replicas(**settings)
    key, task_id = first_task(first)
    until(lambda: fake.calls["job_set"] >= 1, "the first status read to hang")
    claim = task_columns(db_url, task_id, "lease_owner", "lease_until", "submitted_at")
    assert claim["lease_owner"] is not None
    # Claimed within moments of its submission, for the read's 2 s and a margin, not 120 s.
    assert claim["lease_until"] - claim["submitted_at"] < timedelta(seconds=60)
    first.server.kill()
    fake.advance_all()
    fake.advance_all()
    second = replicas(**settings)
    done = final(second, key, task_id)
    assert done["status"] == "completed" and done["video_url"]
    assert len(fake.submissions) == 1
