"""The built-in Higgsfield sandbox: a fake upstream so the whole flow works without credentials.

The service mounts it with `app.mount("/sandbox", create_sandbox_app(...))` and talks to it
over HTTP on loopback exactly as it talks to Higgsfield, so the sandbox exercises the real
client code. It speaks both API generations at once (v1's `/v1/...` routes and v2's
`/higgsfield-ai/dop/...` and `/requests/...`), so it follows whichever HF_API_VERSION the
service runs with, and a task sent before a switch is still followed. Jobs are stateless (see
`src.sandbox.jobs`) so that any worker, before or after a restart, answers the same for the
same job; only a v2 cancel is kept in the memory of the worker that took it.

Try every ending by prompt: a prompt containing `nsfw` ends `nsfw`, one containing
`explode` ends `failed`, anything else ends `completed` with a tiny real MP4.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request, Response

from src.sandbox.catalog import MOTION_IDS, MOTIONS
from src.sandbox.jobs import new_job_set_id, outcome_for_prompt, read_job_set_id
from src.sandbox.media import asset_response
from src.sandbox.protocol import (
    DopRequest,
    UploadUrlRequest,
    V2DopRequest,
    any_credentials_match,
    base_url,
    cancel_refused,
    check_motions,
    credentials_match,
    invalid_credentials,
    job_set_json,
    not_found,
    v2_credentials_match,
    v2_request_json,
)
from src.sandbox.uploads import UploadSigner, UploadStore


def create_sandbox_app(
    *,
    job_seconds: float = 6.0,
    api_key: str = "sandbox",
    api_secret: str = "sandbox",  # noqa: S107 - the sandbox's credentials are public by design
) -> FastAPI:
    """A Higgsfield look-alike: jobs are `queued`, `in_progress` after a third of `job_seconds`,
    and final once `job_seconds` have passed since submission."""
    if job_seconds < 0:
        raise ValueError("job_seconds must not be negative")
    app = FastAPI(title="Higgsfield sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    # Every worker derives the same key from the same credentials, so upload URLs work across workers.
    signer = UploadSigner(hashlib.sha256(f"sandbox-uploads\n{api_key}\n{api_secret}".encode()).digest())
    store = UploadStore()

    canceled: set[str] = set()

    async def require_credentials(request: Request) -> None:
        if not credentials_match(request.headers, api_key, api_secret):
            raise invalid_credentials()

    async def require_v2_credentials(request: Request) -> None:
        if not v2_credentials_match(request.headers, api_key, api_secret):
            raise invalid_credentials()

    async def require_any_credentials(request: Request) -> None:
        if not any_credentials_match(request.headers, api_key, api_secret):
            raise invalid_credentials()

    authenticated = [Depends(require_credentials)]
    v2_authenticated = [Depends(require_v2_credentials)]

    def v2_status(request: Request, request_id: str, *, submitted: bool = False) -> dict[str, Any]:
        job = read_job_set_id(request_id)
        if job is None:
            raise not_found()
        status = "queued" if submitted else job.status(job_seconds)
        if request_id in canceled:
            status = "canceled"
        error = "The sandbox fails prompts that ask to explode" if status == "failed" else None
        return v2_request_json(base=base_url(request), request_id=request_id, status=status, error=error)

    def job_set(request: Request, job_set_id: str, *, submitted: bool = False) -> dict[str, Any]:
        job = read_job_set_id(job_set_id)
        if job is None:
            raise not_found()
        return job_set_json(
            base=base_url(request),
            job_set_id=job.job_set_id,
            job_id=job.job_id,
            created_at=job.created_at,
            # Higgsfield answers a submission with a queued job, however short the job.
            status="queued" if submitted else job.status(job_seconds),
        )

    @app.post("/files/generate-upload-url", dependencies=[Depends(require_any_credentials)])
    async def generate_upload_url(body: UploadUrlRequest, request: Request) -> dict[str, Any]:
        return signer.new_upload(base_url(request), body.content_type)

    @app.put("/uploads/{file_name}")
    async def put_upload(file_name: str, request: Request) -> Response:
        data, content_type = await signer.receive(request, file_name)
        store.put(file_name, data, content_type)
        return Response(status_code=200)

    @app.get("/files/{file_name}")
    async def get_file(file_name: str) -> Response:
        """Only in the worker that received the PUT: uploads are per-process memory."""
        return store.response(file_name)

    @app.get("/v1/motions", dependencies=authenticated)
    async def motions(request: Request) -> list[dict[str, Any]]:
        base = base_url(request)
        return [motion.to_json(base) for motion in MOTIONS]

    @app.post("/v1/image2video/dop", dependencies=authenticated)
    async def image2video_dop(body: DopRequest, request: Request) -> dict[str, Any]:
        """Create a job set. An optional `webhook` is accepted and ignored: the sandbox never
        calls back, and the service's poller, its source of truth, finds the end anyway."""
        check_motions(body, MOTION_IDS)
        return job_set(request, new_job_set_id(outcome_for_prompt(body.params.prompt)), submitted=True)

    @app.get("/v1/job-sets/{job_set_id}", dependencies=authenticated)
    async def get_job_set(job_set_id: str, request: Request) -> dict[str, Any]:
        return job_set(request, job_set_id)

    @app.post("/higgsfield-ai/dop/{variant}", dependencies=v2_authenticated)
    async def v2_dop(variant: Literal["standard", "preview"], body: V2DopRequest, request: Request) -> dict:
        """v2 image-to-video. `?hf_webhook=` is accepted and ignored, as v1's webhook is."""
        return v2_status(request, new_job_set_id(outcome_for_prompt(body.prompt)), submitted=True)

    @app.get("/requests/{request_id}/status", dependencies=v2_authenticated)
    async def v2_request_status(request_id: str, request: Request) -> dict[str, Any]:
        return v2_status(request, request_id)

    @app.post("/requests/{request_id}/cancel", dependencies=v2_authenticated, status_code=202)
    async def v2_cancel(request_id: str, request: Request) -> Response:
        if v2_status(request, request_id)["status"] != "queued":
            raise cancel_refused()
        canceled.add(request_id)
        return Response(status_code=202)

    @app.get("/outputs/{job_set_id}/{name}")
    async def output(job_set_id: str, name: str) -> Response:
        job = read_job_set_id(job_set_id)
        if job is None or job.status(job_seconds) != "completed":
            raise not_found()
        return asset_response(name)

    @app.get("/assets/{name}")
    async def asset(name: str) -> Response:
        return asset_response(name)

    return app
