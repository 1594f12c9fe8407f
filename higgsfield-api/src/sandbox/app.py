"""The built-in Higgsfield sandbox, mounted at `/sandbox` and called over HTTP like Higgsfield,
in both API generations. A prompt with `nsfw` ends `nsfw`, with `explode` `failed`; any other
ends `completed` with a tiny real MP4."""

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import cache
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute

from src.sandbox.jobs import Job
from src.sandbox.protocol import (
    DopRequest,
    UploadUrlRequest,
    V2DopRequest,
    account_of,
    base_url,
    check_motions,
    job_set_json,
    not_found,
    v2_request_json,
)
from src.sandbox.state import ENDPOINTS, Sandbox
from src.sandbox.uploads import UploadSigner

# What every completed job serves: 2 s of ffmpeg's `testsrc2` at 64x64 and its first frame.
ASSET_DIR = Path(__file__).with_name("assets")
MEDIA_TYPES = {"video.mp4": "video/mp4", "thumbnail.jpg": "image/jpeg"}
OUTPUT_PIECES = 20
# Storage URLs (the PUT, public files, outputs) are open, as presigned ones are.
OPEN_ENDPOINTS = frozenset({"put", "file", "output"})


@cache
def asset_bytes(name: str) -> bytes:
    return (ASSET_DIR / name).read_bytes()


def asset_response(name: str, seconds: float = 0.0) -> Response:
    """The asset, at once or in OUTPUT_PIECES pieces spread over `seconds`."""
    if name not in MEDIA_TYPES:
        raise not_found()
    data = asset_bytes(name)
    if not seconds:
        return Response(data, media_type=MEDIA_TYPES[name])
    step = -(-len(data) // OUTPUT_PIECES)

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(data), step):
            await asyncio.sleep(seconds / OUTPUT_PIECES)
            yield data[start : start + step]

    headers = {"Content-Length": str(len(data))}
    return StreamingResponse(pieces(), media_type=MEDIA_TYPES[name], headers=headers)


class FaultRoute(APIRoute):
    """A route named after its endpoint: counts the call, applies a fault due before the work,
    checks the credentials of its generation and applies a fault due after."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.name not in ENDPOINTS:
            return handler
        generation = "any" if self.name == "upload_url" else "v1" if self.path.startswith("/v1/") else "v2"

        async def gated(request: Request) -> Response:
            sandbox: Sandbox = request.app.state.sandbox
            await request.body()  # kept for the handler: after a hang the work is done, even if no one waits
            epoch, fault = sandbox.epoch, sandbox.take_fault(self.name)
            if fault is not None and not fault.after:
                await fault.apply()
                if sandbox.epoch != epoch:  # reset meanwhile: its work must not reach the new state
                    raise HTTPException(503, "The sandbox was reset while this call waited")
            if self.name not in OPEN_ENDPOINTS:
                keys, secret = sandbox.account_keys, sandbox.settings.api_secret
                account = account_of(request.headers, generation, keys, secret)
                if account is None:
                    raise HTTPException(401, "Invalid credentials")
                sandbox.check_account(account, self.name)
                request.state.account = account
            response = await handler(request)
            if fault is not None and fault.after:
                await fault.apply()
            return response

        return gated


def create_sandbox_app(**settings: Any) -> FastAPI:
    """A Higgsfield look-alike; `settings` are `SandboxSettings`, `app.state.sandbox` its state."""
    sandbox = Sandbox(**settings)
    app = FastAPI(title="Higgsfield sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    app.router.route_class = FaultRoute
    app.state.sandbox = sandbox
    # Every worker derives the same key from the same credentials, so upload URLs work across workers.
    key, secret = sandbox.settings.api_key, sandbox.settings.api_secret
    signer = UploadSigner(hashlib.sha256(f"sandbox-uploads\n{key}\n{secret}".encode()).digest())

    def job_set(request: Request, job: Job) -> dict[str, Any]:
        ids = {"job_set_id": job.job_set_id, "job_id": job.job_id}
        return job_set_json(base=base_url(request), **ids, created_at=job.created_at, status=job.status)

    def v2_request(request: Request, job: Job) -> dict[str, Any]:
        return v2_request_json(base=base_url(request), request_id=job.job_set_id, status=job.status)

    @app.post("/files/generate-upload-url", name="upload_url")
    async def generate_upload_url(body: UploadUrlRequest, request: Request) -> dict[str, Any]:
        with_headers = sandbox.settings.upload_headers
        return signer.new_upload(base_url(request), body.content_type, with_headers=with_headers)

    @app.put("/uploads/{file_name}", name="put")
    async def put_upload(file_name: str, request: Request) -> Response:
        data, content_type = await signer.receive(request, file_name)
        sandbox.store.put(file_name, data, content_type)
        return Response(status_code=200)

    @app.api_route("/files/{file_name}", methods=["GET", "HEAD"], name="file")
    async def get_file(file_name: str) -> Response:
        """Only in the worker that received the PUT: uploads are per-process memory. HEAD answers
        as storage does, without the body; a file the store no longer holds is a 404."""
        return sandbox.store.response(file_name)

    @app.get("/v1/motions", name="motions")
    async def motions(request: Request) -> list[dict[str, Any]]:
        return [motion.to_json(base_url(request)) for motion in sandbox.settings.motions]

    @app.post("/v1/image2video/dop", name="dop")
    async def image2video_dop(body: DopRequest, request: Request) -> dict[str, Any]:
        """Keeps the body as sent; a `webhook` in it is never called (the service polls anyway)."""
        check_motions(body, {motion.id for motion in sandbox.settings.motions})
        raw = await request.json()
        account = request.state.account
        job = sandbox.submit(
            raw, body.params.prompt, version="v1", path="/v1/image2video/dop", account=account
        )
        return job_set(request, job)

    @app.get("/v1/job-sets/{job_set_id}", name="job_set")
    async def get_job_set(job_set_id: str, request: Request) -> dict[str, Any]:
        return job_set(request, sandbox.read(job_set_id, "v1", request.state.account))

    @app.post("/higgsfield-ai/dop/{variant}", name="dop")
    async def v2_dop(
        variant: Literal["standard", "preview"], body: V2DopRequest, request: Request
    ) -> dict[str, Any]:
        """The query (`?hf_webhook=`) is kept with the body, never called."""
        path, query = f"/higgsfield-ai/dop/{variant}", dict(request.query_params)
        account = request.state.account
        job = sandbox.submit(
            await request.json(), body.prompt, version="v2", path=path, query=query, account=account
        )
        return v2_request(request, job)

    @app.get("/requests/{request_id}/status", name="job_set")
    async def v2_status(request_id: str, request: Request) -> dict[str, Any]:
        return v2_request(request, sandbox.read(request_id, "v2", request.state.account))

    @app.post("/requests/{request_id}/cancel", name="cancel", status_code=202)
    async def v2_cancel(request_id: str, request: Request) -> Response:
        if not sandbox.cancel(request_id, request.state.account):
            raise HTTPException(400, "The request has already started and cannot be canceled")
        return Response(status_code=202)

    @app.get("/outputs/{job_set_id}/{name}", name="output")
    async def output(job_set_id: str, name: str) -> Response:
        if sandbox.status_of(job_set_id) != "completed":
            raise not_found()
        return asset_response(name, sandbox.settings.output_seconds)

    @app.get("/assets/{name}")
    async def asset(name: str) -> Response:
        return asset_response(name)

    return app
