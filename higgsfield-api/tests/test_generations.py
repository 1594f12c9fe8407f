"""Each API generation's adapter against Higgsfield's documented examples (shared/HIGGSFIELD.md).

These check the shapes independently of the fakes: the requests the adapters build are the
documented ones, and the documented answers read back as the job states the service needs.
"""

from __future__ import annotations

import pytest

from src.core.config import DEFAULT_V2_MODELS
from src.tasks.schemas import TaskFields
from src.upstream.errors import UpstreamPermanent, UpstreamTransient
from src.upstream.generations import JobState, Submission, generations

GENERATIONS = generations(DEFAULT_V2_MODELS)
V1, V2 = GENERATIONS["v1"], GENERATIONS["v2"]
IMAGE = "https://cdn.higgsfield.ai/uploads/in.png"
REQUEST_ID = "9417a243-e457-4075-895b-b68f3cda5303"


def submission(webhook_url: str | None = None, webhook_secret: str | None = None, **changes) -> Submission:
    return Submission(
        fields=TaskFields(prompt="waves rolling in at dusk", **changes),
        image_url=IMAGE,
        motion_id="b286016a-7610-44b4-a62d-4843374f9704",
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
    )


# --- v2 -----------------------------------------------------------------------------------


def test_v2_authenticates_with_one_key_header() -> None:
    assert V2.headers("id-1", "secret-2") == {"Authorization": "Key id-1:secret-2"}


def test_v2_submits_the_documented_flat_body_to_the_model_path() -> None:
    # Documented: POST /higgsfield-ai/dop/standard {"image_url": ..., "prompt": ..., "duration": 5}
    call = V2.submit(submission())
    assert (call.method, call.path) == ("POST", "/higgsfield-ai/dop/standard")
    assert call.json == {"image_url": IMAGE, "prompt": "waves rolling in at dusk", "duration": 5}
    assert call.params is None
    assert V2.submit(submission(model="lite")).path == "/higgsfield-ai/dop/preview"


def test_v2_sends_the_seed_when_given_and_the_webhook_as_hf_webhook() -> None:
    call = V2.submit(submission(seed=7, duration=3, webhook_url="https://gw.example/hook?task=1&token=t"))
    assert call.json == {"image_url": IMAGE, "prompt": "waves rolling in at dusk", "duration": 3, "seed": 7}
    assert call.params == {"hf_webhook": "https://gw.example/hook?task=1&token=t"}


def test_v2_without_a_path_for_the_model_is_permanent() -> None:
    with pytest.raises(UpstreamPermanent, match="turbo"):
        V2.submit(submission(model="turbo"))


def test_v2_reads_the_documented_submit_answer() -> None:
    answer = {
        "status": "queued",
        "request_id": REQUEST_ID,
        "status_url": f"https://platform.higgsfield.ai/requests/{REQUEST_ID}/status",
        "cancel_url": f"https://platform.higgsfield.ai/requests/{REQUEST_ID}/cancel",
    }
    assert V2.request_id(answer) == REQUEST_ID
    with pytest.raises(UpstreamPermanent):
        V2.request_id({"status": "queued"})


def test_v2_status_and_cancel_paths() -> None:
    assert (V2.status(REQUEST_ID).method, V2.status(REQUEST_ID).path) == (
        "GET",
        f"/requests/{REQUEST_ID}/status",
    )
    cancel = V2.cancel(REQUEST_ID)
    assert cancel is not None and (cancel.method, cancel.path) == ("POST", f"/requests/{REQUEST_ID}/cancel")


@pytest.mark.parametrize(
    ("answer", "state"),
    [
        ({"status": "queued", "request_id": REQUEST_ID}, JobState("queued")),
        ({"status": "in_progress", "request_id": REQUEST_ID}, JobState("in_progress")),
        (
            {
                "status": "completed",
                "request_id": REQUEST_ID,
                "video": {"url": "https://cdn.higgsfield.ai/out.mp4"},
                "images": [{"url": "https://cdn.higgsfield.ai/out.jpg"}],
            },
            JobState("completed", "https://cdn.higgsfield.ai/out.mp4", "https://cdn.higgsfield.ai/out.jpg"),
        ),
        (  # a video without an image: no thumbnail
            {
                "status": "completed",
                "request_id": REQUEST_ID,
                "video": {"url": "https://cdn/v.mp4"},
                "images": None,
            },
            JobState("completed", "https://cdn/v.mp4", None),
        ),
        (
            {"status": "failed", "request_id": REQUEST_ID, "error": "Generation timed out"},
            JobState("failed", error="Generation timed out"),
        ),
        ({"status": "nsfw", "request_id": REQUEST_ID}, JobState("nsfw")),
        ({"status": "canceled", "request_id": REQUEST_ID}, JobState("canceled")),
    ],
)
def test_v2_reads_each_documented_status(answer: dict, state: JobState) -> None:
    assert V2.job_state(REQUEST_ID, answer) == state


def test_v2_has_no_motion_catalog() -> None:
    assert V2.catalog() is None


# --- v1 -----------------------------------------------------------------------------------


def test_v1_authenticates_with_two_headers() -> None:
    assert V1.headers("id-1", "secret-2") == {"hf-api-key": "id-1", "hf-secret": "secret-2"}


def test_v1_submits_the_documented_dop_params() -> None:
    call = V1.submit(
        submission(model="turbo", seed=1, enhance_prompt=True, webhook_url="https://gw/h", webhook_secret="s")
    )
    assert (call.method, call.path) == ("POST", "/v1/image2video/dop")
    assert call.json == {
        "params": {
            "model": "dop-turbo",
            "prompt": "waves rolling in at dusk",
            "seed": 1,
            "motions": [{"id": "b286016a-7610-44b4-a62d-4843374f9704", "strength": 0.5}],
            "input_images": [{"type": "image_url", "image_url": IMAGE}],
            "enhance_prompt": True,
        },
        "webhook": {"url": "https://gw/h", "secret": "s"},
    }


def test_v1_reads_the_documented_job_set() -> None:
    job_set = {
        "id": "js-1",
        "type": "image2video",
        "created_at": "2026-01-01T00:00:00Z",
        "jobs": [
            {
                "id": "job-1",
                "job_set_type": "image2video",
                "status": "completed",
                "results": {
                    "raw": {"type": "video", "url": "https://cdn/raw.mp4"},
                    "min": {"type": "image", "url": "https://cdn/min.jpg"},
                },
            }
        ],
        "input_params": {},
    }
    assert V1.request_id(job_set) == "js-1"
    assert V1.status("js-1").path == "/v1/job-sets/js-1"
    assert V1.job_state("js-1", job_set) == JobState(
        "completed", "https://cdn/raw.mp4", "https://cdn/min.jpg"
    )
    with pytest.raises(UpstreamTransient):
        V1.job_state("js-1", {**job_set, "jobs": []})


def test_v1_cannot_cancel_and_has_a_catalog() -> None:
    assert V1.cancel("js-1") is None
    catalog = V1.catalog()
    assert catalog is not None and catalog.path == "/v1/motions"
