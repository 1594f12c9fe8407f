"""Higgsfield's platform API v1 (deprecated by Higgsfield): `hf-api-key`/`hf-secret` headers,
`POST /v1/image2video/dop` with `{"params": ...}`, job sets at `GET /v1/job-sets/{id}`."""

from typing import Any

from src.upstream.errors import UpstreamPermanent, UpstreamTransient
from src.upstream.generations.base import Call, JobState, Submission

MODELS = {"lite": "dop-lite", "standard": "dop-standard", "turbo": "dop-turbo"}


class V1:
    version = "v1"

    def headers(self, api_key: str, api_secret: str) -> dict[str, str]:
        return {"hf-api-key": api_key, "hf-secret": api_secret}

    def catalog(self) -> Call:
        return Call("GET", "/v1/motions")

    def submit(self, submission: Submission) -> Call:
        """DoP documents no duration: it is kept with the task, not sent."""
        task = submission.fields
        params: dict[str, Any] = {
            "model": MODELS[task.model],
            "prompt": task.prompt,
            "motions": [{"id": submission.motion_id, "strength": task.motion_strength}],
            "input_images": [{"type": "image_url", "image_url": submission.image_url}],
        }
        if task.seed is not None:
            params["seed"] = task.seed
        if task.enhance_prompt:
            params["enhance_prompt"] = True
        body: dict[str, Any] = {"params": params}
        if submission.webhook_url:
            body["webhook"] = {"url": submission.webhook_url, "secret": submission.webhook_secret}
        return Call("POST", "/v1/image2video/dop", json=body)

    def request_id(self, answer: Any) -> str:
        job_set_id = answer.get("id") if isinstance(answer, dict) else None
        if not job_set_id:
            raise UpstreamPermanent("POST /v1/image2video/dop: the answer has no job-set id")
        return str(job_set_id)

    def status(self, request_id: str) -> Call:
        return Call("GET", f"/v1/job-sets/{request_id}")

    def job_state(self, request_id: str, answer: Any) -> JobState:
        jobs = answer.get("jobs") if isinstance(answer, dict) else None
        if not jobs:
            raise UpstreamTransient(f"GET /v1/job-sets/{request_id}: no jobs in the answer yet")
        job = jobs[0]
        results = job.get("results") or {}
        return JobState(
            status=str(job.get("status")),
            video_url=(results.get("raw") or {}).get("url"),
            thumbnail_url=(results.get("min") or {}).get("url"),
        )

    def cancel(self, request_id: str) -> None:
        return None  # v1 has no cancel
