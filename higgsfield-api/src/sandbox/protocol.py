"""Higgsfield's wire format, v1 and v2, as the sandbox speaks it. Request bodies are pydantic
models, so bad input gets FastAPI's own 422 shape, as Higgsfield (a FastAPI service) answers."""

import hmac
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

# Upload types Higgsfield accepts, with the file extension its public URLs carry.
IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}


class UploadUrlRequest(BaseModel):
    content_type: str


class MotionRef(BaseModel):
    id: UUID
    strength: float = Field(ge=0, le=1)


class InputImage(BaseModel):
    type: Literal["image_url"]
    image_url: HttpUrl


class DopParams(BaseModel):
    model: Literal["dop-lite", "dop-standard", "dop-turbo"]
    prompt: str
    seed: int | None = Field(default=None, ge=0, le=1_000_000)
    motions: list[MotionRef] = Field(min_length=1)
    input_images: list[InputImage] = Field(min_length=1, max_length=1)
    enhance_prompt: bool = False


class Webhook(BaseModel):
    url: HttpUrl
    secret: str


class DopRequest(BaseModel):
    params: DopParams
    webhook: Webhook | None = None


class V2DopRequest(BaseModel):
    """The flat body v2 documents for DoP; anything else (a v1 `params`, `motions`) is a 422."""

    model_config = ConfigDict(extra="forbid")

    image_url: HttpUrl
    prompt: str = ""
    duration: Literal[3, 5] = 5
    seed: int | None = Field(default=None, ge=0, le=1_000_000)


def check_motions(body: DopRequest, known_ids: Collection[str]) -> None:
    """422 in FastAPI's shape for motion ids missing from the run-time catalog."""
    errors = [
        {
            "type": "value_error",
            "loc": ("body", "params", "motions", index, "id"),
            "msg": "Value error, unknown motion id",
            "input": str(motion.id),
        }
        for index, motion in enumerate(body.params.motions)
        if str(motion.id) not in known_ids
    ]
    if errors:
        raise RequestValidationError(errors)


def account_of(
    headers: Mapping[str, str], generation: str, keys: Collection[str], api_secret: str
) -> str | None:
    """The account key among `keys` (all with `api_secret`) the headers sign with, or None."""
    found = None
    for key in keys:  # every key is compared, so the time taken does not tell which matched
        if authorized(headers, generation, key, api_secret):
            found = key
    return found


def authorized(headers: Mapping[str, str], generation: str, api_key: str, api_secret: str) -> bool:
    """v1 signs with `hf-api-key` and `hf-secret`, v2 with `Authorization: Key {key}:{secret}`,
    "any" takes either. Every header is compared, in constant time."""
    key_ok = hmac.compare_digest(headers.get("hf-api-key", "").encode(), api_key.encode())
    secret_ok = hmac.compare_digest(headers.get("hf-secret", "").encode(), api_secret.encode())
    expected = f"Key {api_key}:{api_secret}".encode()
    v2 = hmac.compare_digest(headers.get("authorization", "").encode(), expected)
    v1 = key_ok and secret_ok
    return v1 if generation == "v1" else v2 if generation == "v2" else v1 or v2


def not_found() -> HTTPException:
    return HTTPException(status_code=404, detail="Not found")


def base_url(request: Request) -> str:
    """The URL of the app that handles `request`, without a trailing slash. Inside a mount
    `request.base_url` is the top-level app's; the scope's `root_path` has the mount's prefix."""
    return str(request.base_url.replace(path=request.scope.get("root_path", ""))).rstrip("/")


def v2_request_json(*, base: str, request_id: str, status: str) -> dict[str, Any]:
    """v2's submit answer, status answer and webhook payload."""
    answer: dict[str, Any] = {
        "status": status,
        "request_id": request_id,
        "status_url": f"{base}/requests/{request_id}/status",
        "cancel_url": f"{base}/requests/{request_id}/cancel",
    }
    if status == "completed":
        outputs = f"{base}/outputs/{request_id}"
        answer["video"] = {"url": f"{outputs}/video.mp4"}
        answer["images"] = [{"url": f"{outputs}/thumbnail.jpg"}]
    elif status == "failed":
        answer["error"] = "The sandbox failed the job: its prompt asked to explode"
    return answer


def job_set_json(
    *, base: str, job_set_id: str, job_id: str, created_at: datetime, status: str
) -> dict[str, Any]:
    """One v1 job set holding one DoP job; a completed job points at outputs under `base`."""
    results = None
    if status == "completed":
        outputs = f"{base}/outputs/{job_set_id}"
        results = {
            "raw": {"type": "video", "url": f"{outputs}/video.mp4"},
            "min": {"type": "image", "url": f"{outputs}/thumbnail.jpg"},
        }
    return {
        "id": job_set_id,
        "type": "image2video",
        "created_at": created_at.isoformat(),
        "jobs": [{"id": job_id, "job_set_type": "image2video", "status": status, "results": results}],
        "input_params": {},
    }
