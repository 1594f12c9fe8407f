"""The fake Higgsfield that the service's tests run against, and the loopback server behind it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from src.sandbox.catalog import MOTIONS, Motion
from tests.fakes.higgsfield import FakeHiggsfield
from tests.fakes.server import LoopbackServer
from tests.support.images import image_bytes

AUTH = {"hf-api-key": "test-key", "hf-secret": "test-secret"}
GENERAL_ID = MOTIONS[0].id


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeHiggsfield, LoopbackServer]]:
    fake = FakeHiggsfield()
    with LoopbackServer(fake.app) as server:
        yield fake, server


@pytest.fixture
def fake(served: tuple[FakeHiggsfield, LoopbackServer]) -> FakeHiggsfield:
    served[0].reset()
    return served[0]


@pytest.fixture
def client(served: tuple[FakeHiggsfield, LoopbackServer], fake: FakeHiggsfield) -> Iterator[httpx.Client]:
    """Depends on `fake` so that every test starts from a reset fake."""
    with httpx.Client(base_url=served[1].url, headers=AUTH, timeout=5) as http:
        yield http


def dop_body(prompt: str = "a calm lake") -> dict[str, Any]:
    return {
        "params": {
            "model": "dop-standard",
            "prompt": prompt,
            "motions": [{"id": GENERAL_ID, "strength": 0.4}],
            "input_images": [{"type": "image_url", "image_url": "http://127.0.0.1:1/files/a.png"}],
        }
    }


def submit(client: httpx.Client, prompt: str = "a calm lake") -> str:
    answer = client.post("/v1/image2video/dop", json=dop_body(prompt))
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def status(client: httpx.Client, job_set_id: str) -> str:
    return client.get(f"/v1/job-sets/{job_set_id}").json()["jobs"][0]["status"]


def test_uploads_are_checked_and_recorded(fake: FakeHiggsfield, client: httpx.Client) -> None:
    ticket = client.post("/files/generate-upload-url", json={"content_type": "image/jpeg"}).json()
    assert ticket["upload_headers"] == {"Content-Type": "image/jpeg"}
    wrong = httpx.put(
        ticket["upload_url"], content=image_bytes("JPEG"), headers={"Content-Type": "image/png"}
    )
    assert wrong.status_code == 400
    data = image_bytes("JPEG")
    assert httpx.put(ticket["upload_url"], content=data, headers=ticket["upload_headers"]).status_code == 200
    assert fake.uploads == [(data, "image/jpeg")]
    assert httpx.get(ticket["public_url"]).content == data
    assert fake.calls["upload_url"] == 1
    assert fake.calls["put"] == 2


def test_upload_headers_can_be_left_to_the_client(fake: FakeHiggsfield, client: httpx.Client) -> None:
    fake.settings.upload_headers = False
    ticket = client.post("/files/generate-upload-url", json={"content_type": "image/png"}).json()
    assert ticket["upload_headers"] is None
    put = httpx.put(ticket["upload_url"], content=image_bytes("PNG"), headers={"Content-Type": "image/png"})
    assert put.status_code == 200


def test_submissions_are_recorded_as_sent_and_jobs_move_on_reads(
    fake: FakeHiggsfield, client: httpx.Client
) -> None:
    body = dop_body() | {"extra": {"duration": 5}}
    created = client.post("/v1/image2video/dop", json=body).json()
    assert created["jobs"][0]["status"] == "queued"
    assert fake.submissions == [body]
    assert fake.live_jobs() == 1
    seen = [status(client, created["id"]) for _ in range(3)]
    assert seen == ["in_progress", "completed", "completed"]
    assert fake.job_set_reads == 3
    assert fake.live_jobs() == 0
    results = client.get(f"/v1/job-sets/{created['id']}").json()["jobs"][0]["results"]
    video = httpx.get(results["raw"]["url"])
    assert video.headers["content-type"] == "video/mp4"
    assert httpx.get(results["min"]["url"]).headers["content-type"] == "image/jpeg"
    [job] = fake.jobs()
    assert (job.job_set_id, job.reads, job.status) == (created["id"], 4, "completed")


def test_reads_per_step_slows_jobs_down(fake: FakeHiggsfield, client: httpx.Client) -> None:
    fake.settings.reads_per_step = 2
    job_set_id = submit(client)
    assert [status(client, job_set_id) for _ in range(4)] == [
        "queued",
        "in_progress",
        "in_progress",
        "completed",
    ]


def test_manual_mode_moves_only_when_told(fake: FakeHiggsfield, client: httpx.Client) -> None:
    fake.settings.reads_per_step = None
    first, second = submit(client), submit(client)
    assert [status(client, first) for _ in range(3)] == ["queued"] * 3
    fake.advance_all()
    assert status(client, first) == status(client, second) == "in_progress"
    fake.finish(second, "failed")
    fake.advance_all()
    assert (status(client, first), status(client, second)) == ("completed", "failed")
    with pytest.raises(ValueError, match="unknown status"):
        fake.finish(first, "done")


@pytest.mark.parametrize("prompt,final", [("NSFW please", "nsfw"), ("it will explode", "failed")])
def test_prompt_rules(client: httpx.Client, prompt: str, final: str) -> None:
    job_set_id = submit(client, prompt)
    assert [status(client, job_set_id) for _ in range(2)] == ["in_progress", final]


def test_concurrency_cap_answers_like_higgsfield(fake: FakeHiggsfield, client: httpx.Client) -> None:
    fake.settings.max_concurrency = 2
    first, _ = submit(client), submit(client)
    refused = client.post("/v1/image2video/dop", json=dop_body())
    assert refused.status_code == 400
    assert refused.json() == {"detail": "Maximum number of concurrent requests (2) has been reached"}
    fake.finish(first, "completed")
    submit(client)
    assert fake.live_jobs() == 2
    assert fake.max_live_jobs == 2
    assert len(fake.submissions) == 3


def test_queued_faults_come_in_order_then_calls_succeed(fake: FakeHiggsfield, client: httpx.Client) -> None:
    fake.fail_next("dop", [500, 429])
    answers = [client.post("/v1/image2video/dop", json=dop_body()) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [500, 429, 200]
    assert answers[0].json() == {"detail": "Injected fault (HTTP 500)"}
    assert len(fake.submissions) == 1
    assert fake.calls["dop"] == 3


def test_a_fault_after_the_work_loses_only_the_answer(fake: FakeHiggsfield, client: httpx.Client) -> None:
    fake.fail_next("dop", [502], after=True, detail="Bad gateway")
    answer = client.post("/v1/image2video/dop", json=dop_body())
    assert answer.status_code == 502
    assert answer.json() == {"detail": "Bad gateway"}
    assert fake.live_jobs() == 1


def test_a_hang_outlasts_the_client_timeout(fake: FakeHiggsfield, client: httpx.Client) -> None:
    job_set_id = submit(client)
    fake.hang_next("job_set", 1.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"/v1/job-sets/{job_set_id}", timeout=0.2)
    assert client.get(f"/v1/job-sets/{job_set_id}").status_code == 200


def test_a_hung_submission_still_creates_the_job(fake: FakeHiggsfield, client: httpx.Client) -> None:
    fake.hang_next("dop", 0.5)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v1/image2video/dop", json=dop_body(), timeout=0.1)
    deadline = time.monotonic() + 5
    while fake.live_jobs() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.live_jobs() == 1


def test_a_slow_failure_does_no_work(fake: FakeHiggsfield, client: httpx.Client) -> None:
    fake.fail_next("dop", [504], delay=0.3)
    started = time.monotonic()
    assert client.post("/v1/image2video/dop", json=dop_body()).status_code == 504
    assert time.monotonic() - started >= 0.3
    assert fake.submissions == []


def test_random_faults_follow_the_seed(fake: FakeHiggsfield, client: httpx.Client) -> None:
    def run(seed: int) -> list[int]:
        fake.set_fault_rate(0.5, seed=seed, statuses=[500, 503], endpoints=["motions"])
        return [client.get("/v1/motions").status_code for _ in range(30)]

    first = run(7)
    assert run(7) == first
    assert set(first) == {200, 500, 503}
    fake.set_fault_rate(0)
    assert {client.get("/v1/motions").status_code for _ in range(10)} == {200}
    assert client.post("/v1/image2video/dop", json=dop_body()).status_code == 200


def test_unknown_endpoints_and_rates_are_refused(fake: FakeHiggsfield) -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        fake.fail_next("upload", [500])
    with pytest.raises(ValueError, match="rate"):
        fake.set_fault_rate(1.5)


def test_credentials_are_checked(fake: FakeHiggsfield, client: httpx.Client) -> None:
    assert client.get("/v1/motions", headers={"hf-secret": "nope"}).json() == {
        "detail": "Invalid credentials"
    }
    fake.settings.api_key = "other-key"
    assert client.get("/v1/motions").status_code == 401
    assert client.get("/v1/motions", headers={"hf-api-key": "other-key"}).status_code == 200


def test_the_catalog_can_be_replaced(fake: FakeHiggsfield, client: httpx.Client) -> None:
    fake.settings.motions = [Motion("4a4b7ad3-58d4-4b8c-92d8-6b8fdbd3c0a0", "Bullet Time", "Time stops.")]
    assert [motion["name"] for motion in client.get("/v1/motions").json()] == ["Bullet Time"]
    answer = client.post("/v1/image2video/dop", json=dop_body())
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "params", "motions", 0, "id"]


def test_reset_forgets_everything(fake: FakeHiggsfield, client: httpx.Client) -> None:
    fake.settings.max_concurrency = 1
    submit(client)
    fake.fail_next("motions", [500])
    fake.reset()
    assert (fake.submissions, fake.jobs(), fake.live_jobs(), fake.max_live_jobs) == ([], [], 0, 0)
    assert fake.calls == {}
    assert fake.settings.max_concurrency is None
    assert client.get("/v1/motions").status_code == 200


def test_unknown_job_set_is_404(client: httpx.Client) -> None:
    answer = client.get("/v1/job-sets/5d2c8b7e-0000-4000-8000-000000000000")
    assert (answer.status_code, answer.json()) == (404, {"detail": "Not found"})


def test_loopback_server_serves_any_asgi_app() -> None:
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("hi"))])
    server = LoopbackServer(app)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.url
    with server:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(server.url).text == "hi"
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url)


def test_stopping_does_not_wait_for_a_hung_request(fake: FakeHiggsfield) -> None:
    fake.hang_next("motions", 30)
    server = LoopbackServer(fake.app, graceful_seconds=0.2).start()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{server.url}/v1/motions", headers=AUTH, timeout=0.2)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
