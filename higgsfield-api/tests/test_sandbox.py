"""The built-in sandbox, mounted under /sandbox as the service mounts it, driven over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from src.sandbox.app import create_sandbox_app
from src.sandbox.catalog import MOTIONS
from src.sandbox.jobs import new_job_set_id, read_job_set_id
from src.sandbox.media import ASSET_DIR
from src.sandbox.uploads import UploadStore
from tests.fakes.server import LoopbackServer
from tests.support.images import image_bytes

JOB_SECONDS = 0.3
AUTH = {"hf-api-key": "sandbox", "hf-secret": "sandbox"}
GENERAL_ID = next(motion.id for motion in MOTIONS if motion.name == "General")


def mounted(**options: Any) -> FastAPI:
    root = FastAPI()
    root.mount("/sandbox", create_sandbox_app(**{"job_seconds": JOB_SECONDS, **options}))
    return root


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(mounted()) as running:
        yield running


@pytest.fixture
def base(server: LoopbackServer) -> str:
    return f"{server.url}/sandbox"


@pytest.fixture
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, headers=AUTH, timeout=5) as http:
        yield http


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


@pytest.mark.parametrize(
    "fmt,content_type",
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_upload_round_trip_under_the_mount(
    client: httpx.Client, base: str, fmt: str, content_type: str
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
    client: httpx.Client, headers: dict[str, str], data: bytes
) -> None:
    ticket = client.post("/files/generate-upload-url", json={"content_type": "image/png"}).json()
    answer = httpx.put(ticket["upload_url"], content=data, headers=headers)
    assert answer.status_code == 400
    assert httpx.get(ticket["public_url"]).status_code == 404


def test_put_refuses_a_tampered_url(client: httpx.Client) -> None:
    ticket = client.post("/files/generate-upload-url", json={"content_type": "image/png"}).json()
    forged = ticket["upload_url"].replace("content_type=image%2Fpng", "content_type=image%2Fgif")
    answer = httpx.put(forged, content=image_bytes("GIF"), headers={"Content-Type": "image/gif"})
    assert answer.status_code == 403


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


def test_completed_job_serves_the_real_files(client: httpx.Client, base: str) -> None:
    ticket = upload(client, image_bytes("PNG"))
    body = dop_body(
        seed=7, enhance_prompt=True, input_images=[{"type": "image_url", "image_url": ticket["public_url"]}]
    )
    body["webhook"] = {"url": "http://127.0.0.1:1/hook", "secret": "s"}  # accepted, never called
    created = client.post("/v1/image2video/dop", json=body)
    assert created.status_code == 200, created.text
    job_set = created.json()
    assert set(job_set) == {"id", "type", "created_at", "jobs", "input_params"}
    assert job_set["type"] == "image2video"
    [job] = job_set["jobs"]
    assert job == {"id": job["id"], "job_set_type": "image2video", "status": "queued", "results": None}

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


def test_custom_credentials_and_instant_jobs() -> None:
    credentials = {"hf-api-key": "k", "hf-secret": "s"}
    with (
        LoopbackServer(mounted(job_seconds=0, api_key="k", api_secret="s")) as other,
        httpx.Client(base_url=f"{other.url}/sandbox", headers=credentials) as http,
    ):
        job_set = http.post("/v1/image2video/dop", json=dop_body()).json()
        assert job_set["jobs"][0]["status"] == "queued"
        assert http.get(f"/v1/job-sets/{job_set['id']}").json()["jobs"][0]["status"] == "completed"
        assert http.get("/v1/motions", headers={"hf-secret": "sandbox"}).status_code == 401


def test_negative_job_seconds_are_refused() -> None:
    with pytest.raises(ValueError, match="job_seconds"):
        create_sandbox_app(job_seconds=-1)


def test_job_status_follows_the_clock() -> None:
    job = read_job_set_id(new_job_set_id("nsfw", created_ms=1_700_000_000_000))
    assert job is not None
    assert (job.created_ms, job.outcome) == (1_700_000_000_000, "nsfw")
    assert job.created_at.isoformat() == "2023-11-14T22:13:20+00:00"
    statuses = [job.status(3.0, at_ms=job.created_ms + elapsed) for elapsed in (0, 999, 1000, 2999, 3000)]
    assert statuses == ["queued", "queued", "in_progress", "in_progress", "nsfw"]
    assert read_job_set_id(job.job_set_id) == job
    assert read_job_set_id(job.job_set_id.upper()) == job


def test_upload_store_keeps_the_newest_within_its_bounds() -> None:
    store = UploadStore(max_items=2, max_bytes=10)
    for name, data in [("a", b"1234"), ("b", b"5678"), ("c", b"9"), ("d", b"123456789")]:
        store.put(name, data, "image/png")
    with pytest.raises(HTTPException):
        store.response("b")  # "a" went for the count, "b" for the size
    assert store.response("c").body == b"9"
    assert store.response("d").body == b"123456789"


# --- v2 -----------------------------------------------------------------------------------

V2_AUTH = {"Authorization": "Key sandbox:sandbox"}


@pytest.fixture
def v2(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, headers=V2_AUTH, timeout=5) as http:
        yield http


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


def test_v2_uploads_submits_and_completes_with_the_documented_shapes(v2: httpx.Client, base: str) -> None:
    ticket = upload(v2, image_bytes("PNG"))  # the same upload call, signed the v2 way
    submitted = v2.post(
        "/higgsfield-ai/dop/standard",
        params={"hf_webhook": "https://gateway.example/hook?task=1&token=t"},
        json={"image_url": ticket["public_url"], "prompt": "a cat", "duration": 5, "seed": 3},
    )
    assert submitted.status_code == 200, submitted.text
    answer = submitted.json()
    request_id = answer["request_id"]
    assert answer == {
        "status": "queued",
        "request_id": request_id,
        "status_url": f"{base}/requests/{request_id}/status",
        "cancel_url": f"{base}/requests/{request_id}/cancel",
    }
    done = v2_follow(v2, request_id)
    assert done["status"] == "completed"
    assert httpx.get(done["video"]["url"]).headers["content-type"] == "video/mp4"
    assert httpx.get(done["images"][0]["url"]).headers["content-type"] == "image/jpeg"


def test_v2_failed_requests_carry_an_error(v2: httpx.Client) -> None:
    request_id = v2.post(
        "/higgsfield-ai/dop/preview", json={"image_url": "https://x.test/a.png", "prompt": "explode"}
    ).json()["request_id"]
    done = v2_follow(v2, request_id)
    assert done["status"] == "failed" and done["error"]


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


def test_v2_cancels_a_queued_request_only() -> None:
    with (
        LoopbackServer(mounted(job_seconds=3.0)) as running,
        httpx.Client(base_url=f"{running.url}/sandbox", headers=V2_AUTH, timeout=5) as v2,
    ):
        body = {"image_url": "https://x.test/a.png", "prompt": "p"}
        request_id = v2.post("/higgsfield-ai/dop/standard", json=body).json()["request_id"]
        assert v2.post(f"/requests/{request_id}/cancel").status_code == 202
        assert v2.get(f"/requests/{request_id}/status").json()["status"] == "canceled"
    with (
        LoopbackServer(mounted(job_seconds=0.0)) as running,
        httpx.Client(base_url=f"{running.url}/sandbox", headers=V2_AUTH, timeout=5) as v2,
    ):
        request_id = v2.post("/higgsfield-ai/dop/standard", json=body).json()["request_id"]
        assert v2.post(f"/requests/{request_id}/cancel").status_code == 400  # it has finished


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/higgsfield-ai/dop/standard"), ("GET", "/requests/x/status"), ("POST", "/requests/x/cancel")],
)
def test_v2_needs_its_own_credentials(base: str, method: str, path: str) -> None:
    for headers in ({}, AUTH, {"Authorization": "Key sandbox:wrong"}):
        answer = httpx.request(method, base + path, headers=headers, json={})
        assert answer.status_code == 401, (headers, answer.text)
