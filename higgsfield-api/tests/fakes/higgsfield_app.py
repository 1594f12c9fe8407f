"""The HTTP side of the fake Higgsfield: Higgsfield's routes, v1 and v2, over a
`FakeHiggsfield`'s state.

Each route is named after the endpoint name tests use for faults and call counts
(`tests.fakes.faults.ENDPOINTS`): a role, the same in both generations (`dop` is v1's
`POST /v1/image2video/dop` and v2's `POST /higgsfield-ai/dop/{variant}`), and passes the
fault gate before anything else. Each route checks the credentials of its own generation.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request, Response

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
from src.sandbox.uploads import UploadSigner
from tests.fakes.faults import Fault

if TYPE_CHECKING:
    from tests.fakes.higgsfield import FakeHiggsfield, FakeJob

# Endpoints Higgsfield guards; storage URLs are open, as presigned ones are. Uploads are one
# call in both generations; the others check their own generation's credentials.
_AUTHENTICATED = frozenset({"upload_url", "motions", "dop", "job_set", "cancel"})


def _credentials_ok(request: Request, endpoint: str, api_key: str, api_secret: str) -> bool:
    if endpoint == "upload_url":
        return any_credentials_match(request.headers, api_key, api_secret)
    if request.url.path.startswith("/v1/"):
        return credentials_match(request.headers, api_key, api_secret)
    return v2_credentials_match(request.headers, api_key, api_secret)


async def _fault_gate(request: Request) -> Fault | None:
    """Count the call, apply a fault due before the work, check auth; return a fault due after it."""
    fake: FakeHiggsfield = request.app.state.fake
    endpoint = request.scope["route"].name
    fault = fake.take_fault(endpoint)
    if fault is not None and not fault.after:
        await fault.apply()
        fault = None
    settings = fake.settings
    if endpoint in _AUTHENTICATED and not _credentials_ok(
        request, endpoint, settings.api_key, settings.api_secret
    ):
        raise invalid_credentials()
    return fault


FaultGate = Annotated[Fault | None, Depends(_fault_gate)]


async def _settle(fault: Fault | None) -> None:
    if fault is not None:
        await fault.apply()


def _job_set(request: Request, job: FakeJob) -> dict[str, Any]:
    return job_set_json(
        base=base_url(request),
        job_set_id=job.job_set_id,
        job_id=job.job_id,
        created_at=job.created_at,
        status=job.status,
    )


def _v2_request(request: Request, job: FakeJob) -> dict[str, Any]:
    error = "The fake failed the job: its prompt asked to explode" if job.status == "failed" else None
    return v2_request_json(base=base_url(request), request_id=job.job_set_id, status=job.status, error=error)


def build_fake_app(fake: FakeHiggsfield) -> FastAPI:
    app = FastAPI(title="Fake Higgsfield", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.fake = fake
    signer = UploadSigner(secrets.token_bytes(32))

    @app.post("/files/generate-upload-url", name="upload_url")
    async def generate_upload_url(
        body: UploadUrlRequest, request: Request, fault: FaultGate
    ) -> dict[str, Any]:
        with_headers = fake.settings.upload_headers
        answer = signer.new_upload(base_url(request), body.content_type, with_headers=with_headers)
        await _settle(fault)
        return answer

    @app.put("/uploads/{file_name}", name="put")
    async def put_upload(file_name: str, request: Request, fault: FaultGate) -> Response:
        data, content_type = await signer.receive(request, file_name)
        fake.record_upload(file_name, data, content_type)
        await _settle(fault)
        return Response(status_code=200)

    @app.get("/files/{file_name}", name="file")
    async def get_file(file_name: str, fault: FaultGate) -> Response:
        await _settle(fault)
        return fake.store.response(file_name)

    @app.get("/v1/motions", name="motions")
    async def motions(request: Request, fault: FaultGate) -> list[dict[str, Any]]:
        await _settle(fault)
        base = base_url(request)
        return [motion.to_json(base) for motion in fake.settings.motions]

    @app.post("/v1/image2video/dop", name="dop")
    async def image2video_dop(body: DopRequest, request: Request, fault: FaultGate) -> dict[str, Any]:
        """Records the body exactly as sent (`await request.json()`), not as parsed."""
        check_motions(body, {motion.id for motion in fake.settings.motions})
        job = fake.submit(await request.json(), body.params.prompt, version="v1", path=request.url.path)
        await _settle(fault)
        return _job_set(request, job)

    @app.get("/v1/job-sets/{job_set_id}", name="job_set")
    async def get_job_set(job_set_id: str, request: Request, fault: FaultGate) -> dict[str, Any]:
        job = fake.read(job_set_id, "v1")
        await _settle(fault)
        return _job_set(request, job)

    @app.post("/higgsfield-ai/dop/{variant}", name="dop")
    async def v2_dop(
        variant: Literal["standard", "preview", "turbo"],
        body: V2DopRequest,
        request: Request,
        fault: FaultGate,
    ) -> dict[str, Any]:
        """Records the body exactly as sent, and the query (`hf_webhook`)."""
        job = fake.submit(
            await request.json(),
            body.prompt,
            version="v2",
            path=request.url.path,
            query=dict(request.query_params),
        )
        await _settle(fault)
        return _v2_request(request, job)

    @app.get("/requests/{request_id}/status", name="job_set")
    async def v2_status(request_id: str, request: Request, fault: FaultGate) -> dict[str, Any]:
        job = fake.read(request_id, "v2")
        await _settle(fault)
        return _v2_request(request, job)

    @app.post("/requests/{request_id}/cancel", name="cancel", status_code=202)
    async def v2_cancel(request_id: str, fault: FaultGate) -> Response:
        if not fake.cancel(request_id):
            raise cancel_refused()
        await _settle(fault)
        return Response(status_code=202)

    @app.get("/outputs/{job_set_id}/{name}", name="output")
    async def output(job_set_id: str, name: str, fault: FaultGate) -> Response:
        await _settle(fault)
        if fake.status_of(job_set_id) != "completed":
            raise not_found()
        return asset_response(name)

    return app
