"""The sandbox, mounted under /sandbox as the service mounts it, driven over real HTTP: the
Higgsfield it plays for `make run` and, with its knobs turned, for the service's tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from src.motions.builtin import MOTIONS, Motion
from src.sandbox.app import ASSET_DIR, create_sandbox_app
from src.sandbox.jobs import FINAL, Job, new_job_set_id
from src.sandbox.state import MAX_JOBS, Sandbox
from src.sandbox.uploads import UploadStore
from tests.support.images import image_bytes
from tests.support.server import LoopbackServer

JOB_SECONDS = 0.3
AUTH = {"hf-api-key": "sandbox", "hf-secret": "sandbox"}
V2_AUTH = {"Authorization": "Key sandbox:sandbox"}
GENERAL_ID = next(motion.id for motion in MOTIONS if motion.name == "General")
V2_BODY = {"image_url": "https://x.test/a.png", "prompt": "p"}


def mounted(sandbox_app: FastAPI | None = None) -> FastAPI:
    root = FastAPI()
    root.mount("/sandbox", sandbox_app or create_sandbox_app(job_seconds=JOB_SECONDS))
    return root


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, LoopbackServer]]:
    app = create_sandbox_app(job_seconds=JOB_SECONDS)
    with LoopbackServer(mounted(app)) as running:
        yield app.state.sandbox, running


@pytest.fixture
def server(served: tuple[Sandbox, LoopbackServer]) -> LoopbackServer:
    return served[1]


@pytest.fixture
def sandbox(served: tuple[Sandbox, LoopbackServer]) -> Sandbox:
    """The served sandbox, reset: its defaults but `JOB_SECONDS`, no jobs, records or faults."""
    served[0].reset()
    return served[0]


@pytest.fixture
def base(server: LoopbackServer) -> str:
    return f"{server.url}/sandbox"


@pytest.fixture
def client(base: str, sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, headers=AUTH, timeout=5) as http:
        yield http


@pytest.fixture
def v2(base: str, sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, headers=V2_AUTH, timeout=5) as http:
        yield http


def by_reads(sandbox: Sandbox, reads_per_step: int | None = 1) -> Sandbox:
    """Jobs off the clock: a step every `reads_per_step` reads, or only when told (None)."""
    sandbox.settings.job_seconds = None
    sandbox.settings.reads_per_step = reads_per_step
    return sandbox


def live(sandbox: Sandbox) -> int:
    return sum(job.status not in FINAL for job in sandbox.jobs())


def upload(client: httpx.Client, data: bytes, content_type: str = "image/png") -> dict[str, Any]:
    answer = client.post("/files/generate-upload-url", json={"content_type": content_type})
    assert answer.status_code == 200, answer.text
    ticket = answer.json()
    put = httpx.put(ticket["upload_url"], content=data, headers=ticket["upload_headers"])
    assert put.status_code == 200, put.text
    return ticket


def dop_body(prompt: str = "a cat on a skateboard", **params: Any) -> dict[str, Any]:
    return {
        "params": {
            "model": "dop-turbo",
            "prompt": prompt,
            "motions": [{"id": GENERAL_ID, "strength": 0.5}],
            "input_images": [{"type": "image_url", "image_url": "http://127.0.0.1:1/sandbox/files/x.png"}],
            **params,
        }
    }


def submit(client: httpx.Client, prompt: str = "a calm lake") -> str:
    answer = client.post("/v1/image2video/dop", json=dop_body(prompt))
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def status(client: httpx.Client, job_set_id: str) -> str:
    return client.get(f"/v1/job-sets/{job_set_id}").json()["jobs"][0]["status"]


def follow(client: httpx.Client, job_set_id: str, timeout: float = 5.0) -> tuple[list[str], dict[str, Any]]:
    """Every distinct status seen, in order, until a final one; and the last job set."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.get(f"/v1/job-sets/{job_set_id}")
        assert answer.status_code == 200, answer.text
        job_set = answer.json()
        status = job_set["jobs"][0]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status not in ("queued", "in_progress"):
            return seen, job_set
        time.sleep(0.02)
    raise AssertionError(f"job set {job_set_id} did not end: {seen}")


# --- uploads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt,content_type",
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_upload_round_trip_under_the_mount_is_recorded(
    sandbox: Sandbox, client: httpx.Client, base: str, fmt: str, content_type: str
) -> None:
    data = image_bytes(fmt)
    ticket = upload(client, data, content_type)
    assert ticket["content_type"] == content_type
    assert ticket["upload_headers"] == {"Content-Type": content_type}
    assert ticket["upload_url"].startswith(f"{base}/uploads/")
    assert ticket["public_url"].startswith(f"{base}/files/")
    fetched = httpx.get(ticket["public_url"])
    assert fetched.status_code == 200
    assert fetched.content == data
    assert fetched.headers["content-type"] == content_type
    assert sandbox.uploads == [(data, content_type)]
    assert (sandbox.calls["upload_url"], sandbox.calls["put"], sandbox.calls["file"]) == (1, 1, 1)


def test_upload_headers_can_be_left_to_the_client(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.settings.upload_headers = False
    ticket = client.post("/files/generate-upload-url", json={"content_type": "image/png"}).json()
    assert ticket["upload_headers"] is None
    put = httpx.put(ticket["upload_url"], content=image_bytes("PNG"), headers={"Content-Type": "image/png"})
    assert put.status_code == 200


@pytest.mark.parametrize("content_type", ["image/bmp", "application/pdf", ""])
def test_upload_url_refuses_other_types(client: httpx.Client, content_type: str) -> None:
    answer = client.post("/files/generate-upload-url", json={"content_type": content_type})
    assert answer.status_code == 400
    assert isinstance(answer.json()["detail"], str)


def test_upload_url_needs_a_content_type(client: httpx.Client) -> None:
    answer = client.post("/files/generate-upload-url", json={})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "content_type"]


@pytest.mark.parametrize(
    "headers,data",
    [
        ({"Content-Type": "image/jpeg"}, image_bytes("PNG")),  # header differs from the signed type
        ({}, image_bytes("PNG")),  # no header at all
        ({"Content-Type": "image/png"}, image_bytes("JPEG")),  # bytes are another type
        ({"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n not really"),  # not an image
    ],
)
def test_put_checks_the_header_and_the_bytes(
    sandbox: Sandbox, client: httpx.Client, headers: dict[str, str], data: bytes
) -> None:
    ticket = client.post("/files/generate-upload-url", json={"content_type": "image/png"}).json()
    answer = httpx.put(ticket["upload_url"], content=data, headers=headers)
    assert answer.status_code == 400
    assert httpx.get(ticket["public_url"]).status_code == 404
    assert sandbox.uploads == []


def test_put_refuses_a_tampered_url(client: httpx.Client) -> None:
    ticket = client.post("/files/generate-upload-url", json={"content_type": "image/png"}).json()
    forged = ticket["upload_url"].replace("content_type=image%2Fpng", "content_type=image%2Fgif")
    answer = httpx.put(forged, content=image_bytes("GIF"), headers={"Content-Type": "image/gif"})
    assert answer.status_code == 403


def test_upload_store_keeps_the_newest_within_its_bounds() -> None:
    store = UploadStore(max_items=2, max_bytes=10)
    for name, data in [("a", b"1234"), ("b", b"5678"), ("c", b"9"), ("d", b"123456789")]:
        store.put(name, data, "image/png")
    with pytest.raises(HTTPException):
        store.response("b")  # "a" went for the count, "b" for the size
    assert store.response("c").body == b"9"
    assert store.files() == [(b"9", "image/png"), (b"123456789", "image/png")]


# --- v1: the catalog, submissions, job sets -----------------------------------------------


def test_motions_catalog(client: httpx.Client, base: str) -> None:
    answer = client.get("/v1/motions")
    assert answer.status_code == 200
    motions = answer.json()
    names = {motion["name"] for motion in motions}
    assert {"General", "Disintegration", "Crash Zoom In", "Dolly In", "Zoom Out"} <= names
    for motion in motions:
        assert set(motion) == {"id", "name", "description", "preview_url", "start_end_frame"}
        assert motion["preview_url"].startswith(f"{base}/")
    assert client.get("/v1/motions").json() == motions  # fixed ids: the same on every call
    preview = httpx.get(motions[0]["preview_url"])
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "video/mp4"


def test_the_catalog_can_be_replaced(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.settings.motions = [Motion("4a4b7ad3-58d4-4b8c-92d8-6b8fdbd3c0a0", "Bullet Time", "Time stops.")]
    assert [motion["name"] for motion in client.get("/v1/motions").json()] == ["Bullet Time"]
    answer = client.post("/v1/image2video/dop", json=dop_body())
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "params", "motions", 0, "id"]


@pytest.mark.parametrize(
    "params,loc",
    [
        ({"model": "dop-ultra"}, ["body", "params", "model"]),
        ({"motions": [{"id": GENERAL_ID, "strength": 1.5}]}, ["body", "params", "motions", 0, "strength"]),
        ({"motions": [{"id": GENERAL_ID, "strength": -0.1}]}, ["body", "params", "motions", 0, "strength"]),
        ({"motions": [{"id": GENERAL_ID}]}, ["body", "params", "motions", 0, "strength"]),
        ({"motions": [{"id": "not-a-uuid", "strength": 0.5}]}, ["body", "params", "motions", 0, "id"]),
        (
            {"motions": [{"id": "3a22bc6e-b7b4-43e2-9686-c786bb921e4e", "strength": 0.5}]},
            ["body", "params", "motions", 0, "id"],
        ),
        ({"motions": []}, ["body", "params", "motions"]),
        ({"seed": -1}, ["body", "params", "seed"]),
        ({"seed": 1_000_001}, ["body", "params", "seed"]),
        ({"input_images": []}, ["body", "params", "input_images"]),
        (
            {"input_images": [{"type": "image_url", "image_url": "http://a.test/1.png"}] * 2},
            ["body", "params", "input_images"],
        ),
        (
            {"input_images": [{"type": "url", "image_url": "http://a.test/1.png"}]},
            ["body", "params", "input_images", 0, "type"],
        ),
        (
            {"input_images": [{"type": "image_url", "image_url": "nope"}]},
            ["body", "params", "input_images", 0, "image_url"],
        ),
        ({"prompt": None}, ["body", "params", "prompt"]),
    ],
)
def test_dop_validates_like_higgsfield(client: httpx.Client, params: dict[str, Any], loc: list[Any]) -> None:
    answer = client.post("/v1/image2video/dop", json=dop_body(**params))
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert [error["loc"] for error in detail] == [loc]
    assert {"type", "msg"} <= set(detail[0])


def test_dop_needs_params(client: httpx.Client) -> None:
    answer = client.post("/v1/image2video/dop", json={"webhook": None})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "params"]


def test_completed_job_serves_the_real_files(sandbox: Sandbox, client: httpx.Client, base: str) -> None:
    ticket = upload(client, image_bytes("PNG"))
    body = dop_body(
        seed=7, enhance_prompt=True, input_images=[{"type": "image_url", "image_url": ticket["public_url"]}]
    )
    body["webhook"] = {"url": "http://127.0.0.1:1/hook", "secret": "s"}  # kept, never called
    created = client.post("/v1/image2video/dop", json=body)
    assert created.status_code == 200, created.text
    job_set = created.json()
    assert set(job_set) == {"id", "type", "created_at", "jobs", "input_params"}
    assert job_set["type"] == "image2video"
    [job] = job_set["jobs"]
    assert job == {"id": job["id"], "job_set_type": "image2video", "status": "queued", "results": None}
    assert sandbox.submissions == [body]

    seen, final = follow(client, job_set["id"])
    assert seen in (["queued", "in_progress", "completed"], ["in_progress", "completed"], ["completed"])
    assert final["id"] == job_set["id"]
    assert final["created_at"] == job_set["created_at"]
    [done] = final["jobs"]
    assert done["id"] == job["id"]
    raw, thumb = done["results"]["raw"], done["results"]["min"]
    assert raw["type"] == "video"
    assert thumb["type"] == "image"
    assert raw["url"].startswith(f"{base}/outputs/")
    video, thumbnail = httpx.get(raw["url"]), httpx.get(thumb["url"])
    assert video.headers["content-type"] == "video/mp4"
    assert video.content == (ASSET_DIR / "video.mp4").read_bytes()
    assert video.content[4:8] == b"ftyp"
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.content[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    "prompt,final",
    [("an NSFW scene", "nsfw"), ("watch it Explode", "failed"), ("nsfw and explode", "nsfw")],
)
def test_prompt_chooses_the_ending(client: httpx.Client, base: str, prompt: str, final: str) -> None:
    job_set = client.post("/v1/image2video/dop", json=dop_body(prompt)).json()
    seen, last = follow(client, job_set["id"])
    assert seen[-1] == final
    assert last["jobs"][0]["results"] is None
    assert httpx.get(f"{base}/outputs/{job_set['id']}/video.mp4").status_code == 404


@pytest.mark.parametrize("job_set_id", ["3a22bc6e-b7b4-43e2-9686-c786bb921e4e", "nope", "0" * 32])
def test_unknown_job_set_is_404(client: httpx.Client, job_set_id: str) -> None:
    answer = client.get(f"/v1/job-sets/{job_set_id}")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not found"}


def test_a_job_is_known_only_to_its_own_generation(client: httpx.Client, v2: httpx.Client) -> None:
    job_set_id = submit(client)
    assert v2.get(f"/requests/{job_set_id}/status").status_code == 404
    request_id = v2.post("/higgsfield-ai/dop/standard", json=V2_BODY).json()["request_id"]
    assert client.get(f"/v1/job-sets/{request_id}").status_code == 404


@pytest.mark.parametrize(
    "method,path,json",
    [
        ("POST", "/files/generate-upload-url", {"content_type": "image/png"}),
        ("GET", "/v1/motions", None),
        ("POST", "/v1/image2video/dop", dop_body()),
        ("GET", "/v1/job-sets/3a22bc6e-b7b4-43e2-9686-c786bb921e4e", None),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"hf-api-key": "sandbox"},
        {"hf-api-key": "sandbox", "hf-secret": "wrong"},
        {"hf-api-key": "x", "hf-secret": "sandbox"},
    ],
)
def test_api_needs_credentials(base: str, method: str, path: str, json: Any, headers: dict[str, str]) -> None:
    answer = httpx.request(method, f"{base}{path}", json=json, headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"detail": "Invalid credentials"}


def test_other_credentials_and_instant_jobs(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.settings.api_key, sandbox.settings.api_secret = "k", "s"
    sandbox.settings.job_seconds = 0
    assert client.get("/v1/motions").status_code == 401
    with httpx.Client(base_url=client.base_url, headers={"hf-api-key": "k", "hf-secret": "s"}) as http:
        job_set = http.post("/v1/image2video/dop", json=dop_body()).json()
        assert job_set["jobs"][0]["status"] == "queued"  # a submission is answered queued, however short
        assert http.get(f"/v1/job-sets/{job_set['id']}").json()["jobs"][0]["status"] == "completed"


def test_negative_job_seconds_are_refused() -> None:
    with pytest.raises(ValueError, match="job_seconds"):
        create_sandbox_app(job_seconds=-1)


# --- workers and restarts -----------------------------------------------------------------


def test_any_worker_and_any_restart_sees_the_same_job(client: httpx.Client) -> None:
    """Workers each mount their own sandbox: the job set id alone carries the job."""
    job_set = client.post("/v1/image2video/dop", json=dop_body()).json()
    with LoopbackServer(mounted()) as other:
        elsewhere = httpx.get(f"{other.url}/sandbox/v1/job-sets/{job_set['id']}", headers=AUTH)
        assert elsewhere.status_code == 200
        assert elsewhere.json()["jobs"][0]["id"] == job_set["jobs"][0]["id"]
        with httpx.Client(base_url=f"{other.url}/sandbox", headers=AUTH) as http:
            _, final = follow(http, job_set["id"])
    assert final["jobs"][0]["status"] == "completed"
    assert final["jobs"][0]["results"]["raw"]["url"].startswith(f"{other.url}/sandbox/outputs/")


def test_upload_urls_work_on_any_worker_with_the_same_credentials(client: httpx.Client, base: str) -> None:
    ticket = client.post("/files/generate-upload-url", json={"content_type": "image/png"}).json()
    with LoopbackServer(mounted()) as other:
        on_other = ticket["upload_url"].replace(base, f"{other.url}/sandbox")
        answer = httpx.put(on_other, content=image_bytes("PNG"), headers={"Content-Type": "image/png"})
    assert answer.status_code == 200


def test_a_worker_keeps_its_newest_jobs_and_rebuilds_older_ones(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    first = submit(client)
    for _ in range(MAX_JOBS):
        sandbox.submit({}, "", version="v1", path="/v1/image2video/dop")
    assert len(sandbox.jobs()) == MAX_JOBS and first not in {job.job_set_id for job in sandbox.jobs()}
    _, final = follow(client, first)  # rebuilt from its id, on the clock
    assert final["jobs"][0]["status"] == "completed"


def test_job_status_follows_the_clock() -> None:
    job = Job.from_id(new_job_set_id("nsfw", "v2", created_ms=1_700_000_000_000))
    assert job is not None
    assert (job.created_ms, job.outcome, job.version) == (1_700_000_000_000, "nsfw", "v2")
    assert job.created_at.isoformat() == "2023-11-14T22:13:20+00:00"
    statuses = [
        job.follow_clock(3.0, at_ms=job.created_ms + elapsed) for elapsed in (0, 999, 1000, 2999, 3000)
    ]
    assert statuses == ["queued", "queued", "in_progress", "in_progress", "nsfw"]
    assert Job.from_id(job.job_set_id) == Job(job.job_set_id, job.created_ms, "nsfw", "v2")
    assert Job.from_id(job.job_set_id.upper()) == Job.from_id(job.job_set_id)


# --- knobs: how jobs move, the concurrency cap, faults ------------------------------------


def test_submissions_are_recorded_as_sent_and_jobs_move_on_reads(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    by_reads(sandbox)
    body = dop_body() | {"extra": {"duration": 5}}
    created = client.post("/v1/image2video/dop", json=body).json()
    assert created["jobs"][0]["status"] == "queued"
    assert sandbox.submissions == [body]
    assert live(sandbox) == 1
    seen = [status(client, created["id"]) for _ in range(3)]
    assert seen == ["in_progress", "completed", "completed"]
    assert sandbox.calls["job_set"] == 3
    assert live(sandbox) == 0
    [job] = sandbox.jobs()
    assert (job.job_set_id, job.reads, job.status, job.path) == (
        created["id"],
        3,
        "completed",
        "/v1/image2video/dop",
    )


def test_reads_per_step_slows_jobs_down(sandbox: Sandbox, client: httpx.Client) -> None:
    by_reads(sandbox, 2)
    job_set_id = submit(client)
    assert [status(client, job_set_id) for _ in range(4)] == [
        "queued",
        "in_progress",
        "in_progress",
        "completed",
    ]


def test_jobs_off_the_clock_move_only_when_told(sandbox: Sandbox, client: httpx.Client) -> None:
    by_reads(sandbox, None)
    first, second = submit(client), submit(client)
    assert [status(client, first) for _ in range(3)] == ["queued"] * 3
    sandbox.advance_all()
    assert status(client, first) == status(client, second) == "in_progress"
    sandbox.finish(second, "failed")
    sandbox.advance_all()
    assert (status(client, first), status(client, second)) == ("completed", "failed")
    with pytest.raises(ValueError, match="unknown status"):
        sandbox.finish(first, "done")


def test_concurrency_cap_answers_like_higgsfield(sandbox: Sandbox, client: httpx.Client) -> None:
    by_reads(sandbox, None)
    sandbox.settings.max_concurrency = 2
    first, _ = submit(client), submit(client)
    refused = client.post("/v1/image2video/dop", json=dop_body())
    assert refused.status_code == 400
    assert refused.json() == {"detail": "Maximum number of concurrent requests (2) has been reached"}
    sandbox.finish(first, "completed")
    submit(client)
    assert live(sandbox) == 2
    assert sandbox.max_live_jobs == 2
    assert len(sandbox.submissions) == 3


def test_queued_faults_come_in_order_then_calls_succeed(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.fail_next("dop", [500, 429])
    answers = [client.post("/v1/image2video/dop", json=dop_body()) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [500, 429, 200]
    assert answers[0].json() == {"detail": "Injected fault (HTTP 500)"}
    assert len(sandbox.submissions) == 1
    assert sandbox.calls["dop"] == 3


def test_a_fault_after_the_work_loses_only_the_answer(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.fail_next("dop", [502], after=True, detail="Bad gateway")
    answer = client.post("/v1/image2video/dop", json=dop_body())
    assert answer.status_code == 502
    assert answer.json() == {"detail": "Bad gateway"}
    assert len(sandbox.submissions) == 1


def test_a_hang_outlasts_the_client_timeout(sandbox: Sandbox, client: httpx.Client) -> None:
    job_set_id = submit(client)
    sandbox.hang_next("job_set", 1.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"/v1/job-sets/{job_set_id}", timeout=0.2)
    assert client.get(f"/v1/job-sets/{job_set_id}").status_code == 200


def test_a_hung_submission_still_creates_the_job(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.hang_next("dop", 0.5)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v1/image2video/dop", json=dop_body(), timeout=0.1)
    deadline = time.monotonic() + 5
    while not sandbox.submissions and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(sandbox.submissions) == 1


def test_a_call_hung_across_a_reset_does_no_work(sandbox: Sandbox, client: httpx.Client) -> None:
    """A test's call still waiting out a fault when the next test resets the sandbox must not leave
    a job in the new state (it would take one of the next test's concurrency slots)."""
    sandbox.hang_next("dop", 0.3)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v1/image2video/dop", json=dop_body(), timeout=0.05)
    sandbox.reset()
    time.sleep(1.0)  # well past the hang: the call has ended by now
    assert sandbox.submissions == [] and sandbox.jobs() == []


def test_a_slow_failure_does_no_work(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.fail_next("dop", [504], delay=0.3)
    started = time.monotonic()
    assert client.post("/v1/image2video/dop", json=dop_body()).status_code == 504
    assert time.monotonic() - started >= 0.3
    assert sandbox.submissions == []


def test_random_faults_follow_the_seed(sandbox: Sandbox, client: httpx.Client) -> None:
    def run(seed: int) -> list[int]:
        sandbox.set_fault_rate(0.5, seed=seed, statuses=[500, 503], endpoints=["motions"])
        return [client.get("/v1/motions").status_code for _ in range(30)]

    first = run(7)
    assert run(7) == first
    assert set(first) == {200, 500, 503}
    sandbox.set_fault_rate(0)
    assert {client.get("/v1/motions").status_code for _ in range(10)} == {200}
    assert client.post("/v1/image2video/dop", json=dop_body()).status_code == 200


def test_unknown_endpoints_and_rates_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        sandbox.fail_next("upload", [500])
    with pytest.raises(ValueError, match="rate"):
        sandbox.set_fault_rate(1.5)


def test_reset_forgets_everything(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.settings.max_concurrency = 1
    submit(client)
    upload(client, image_bytes("PNG"))
    sandbox.fail_next("motions", [500])
    sandbox.reset()
    assert (sandbox.submissions, sandbox.jobs(), sandbox.uploads, sandbox.max_live_jobs) == ([], [], [], 0)
    assert sandbox.calls == {}
    assert sandbox.settings.max_concurrency is None
    assert client.get("/v1/motions").status_code == 200


# --- v2 -----------------------------------------------------------------------------------


def v2_follow(client: httpx.Client, request_id: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.get(f"/requests/{request_id}/status")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        if body["status"] not in ("queued", "in_progress"):
            return body
        time.sleep(0.02)
    raise AssertionError("the v2 request never ended")


def test_v2_uploads_submits_and_completes_with_the_documented_shapes(
    sandbox: Sandbox, v2: httpx.Client, base: str
) -> None:
    ticket = upload(v2, image_bytes("PNG"))  # the same upload call, signed the v2 way
    hook = "https://gateway.example/hook?task=1&token=t"
    body = {"image_url": ticket["public_url"], "prompt": "a cat", "duration": 5, "seed": 3}
    submitted = v2.post("/higgsfield-ai/dop/standard", params={"hf_webhook": hook}, json=body)
    assert submitted.status_code == 200, submitted.text
    answer = submitted.json()
    request_id = answer["request_id"]
    assert answer == {
        "status": "queued",
        "request_id": request_id,
        "status_url": f"{base}/requests/{request_id}/status",
        "cancel_url": f"{base}/requests/{request_id}/cancel",
    }
    [job] = sandbox.jobs()
    assert (job.version, job.path, job.body, job.query) == (
        "v2",
        "/higgsfield-ai/dop/standard",
        body,
        {"hf_webhook": hook},
    )
    done = v2_follow(v2, request_id)
    assert done["status"] == "completed"
    assert httpx.get(done["video"]["url"]).headers["content-type"] == "video/mp4"
    assert httpx.get(done["images"][0]["url"]).headers["content-type"] == "image/jpeg"


def test_v2_failed_requests_carry_an_error(v2: httpx.Client) -> None:
    body = {"image_url": "https://x.test/a.png", "prompt": "explode"}
    request_id = v2.post("/higgsfield-ai/dop/preview", json=body).json()["request_id"]
    done = v2_follow(v2, request_id)
    assert done["status"] == "failed" and "asked to explode" in done["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"params": {"prompt": "v1 shape"}},  # the v1 body is not v2's
        {"image_url": "https://x.test/a.png", "motions": [{"id": GENERAL_ID, "strength": 0.5}]},
        {"image_url": "https://x.test/a.png", "duration": 4},
        {"prompt": "no image"},
    ],
)
def test_v2_refuses_what_it_does_not_document(v2: httpx.Client, body: dict[str, Any]) -> None:
    assert v2.post("/higgsfield-ai/dop/standard", json=body).status_code == 422


def test_v2_cancels_a_queued_request_only(sandbox: Sandbox, v2: httpx.Client) -> None:
    by_reads(sandbox, None)
    request_id = v2.post("/higgsfield-ai/dop/standard", json=V2_BODY).json()["request_id"]
    assert v2.post(f"/requests/{request_id}/cancel").status_code == 202
    assert v2.get(f"/requests/{request_id}/status").json()["status"] == "canceled"
    started = v2.post("/higgsfield-ai/dop/standard", json=V2_BODY).json()["request_id"]
    sandbox.advance_all()
    assert v2.post(f"/requests/{started}/cancel").status_code == 400
    sandbox.settings.job_seconds = 0
    finished = v2.post("/higgsfield-ai/dop/standard", json=V2_BODY).json()["request_id"]
    assert v2.post(f"/requests/{finished}/cancel").status_code == 400
    assert sandbox.calls["cancel"] == 3


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/higgsfield-ai/dop/standard"), ("GET", "/requests/x/status"), ("POST", "/requests/x/cancel")],
)
def test_v2_needs_its_own_credentials(base: str, method: str, path: str) -> None:
    for headers in ({}, AUTH, {"Authorization": "Key sandbox:wrong"}):
        answer = httpx.request(method, base + path, headers=headers, json={})
        assert answer.status_code == 401, (headers, answer.text)
