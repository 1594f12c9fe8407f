"""The one module that knows Higgsfield's HTTP API (shared/HIGGSFIELD.md).

Every failure ends as one of two errors: `UpstreamTransient` (try again later: network,
timeouts, 408, 429, 5xx, the per-account concurrency cap) or `UpstreamPermanent` (the
request itself is wrong: other 4xx, malformed answers).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from src.observability import metrics
from src.services.http_pool import ShardedHttp

MODELS = {"lite": "dop-lite", "standard": "dop-standard", "turbo": "dop-turbo"}
TRANSIENT_STATUSES = frozenset({408, 425, 429})
CONCURRENCY_CAP_MARKER = "maximum number of concurrent requests"


class UpstreamError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class UpstreamTransient(UpstreamError):
    """Worth retrying. `maybe_delivered` is True when the request may have reached Higgsfield
    (the answer was lost), which matters for calls that cost money."""

    def __init__(self, message: str, *, status_code: int | None = None, maybe_delivered: bool = False):
        super().__init__(message, status_code=status_code)
        self.maybe_delivered = maybe_delivered


class ConcurrencyCapReached(UpstreamTransient):
    """Higgsfield's 400 for too many jobs of the account at once: backpressure, not failure."""


class UpstreamPermanent(UpstreamError):
    pass


@dataclass(frozen=True, slots=True)
class DopRequest:
    model: str  # lite | standard | turbo
    prompt: str
    motion_id: str
    motion_strength: float
    image_url: str
    seed: int | None = None
    enhance_prompt: bool = False
    webhook: tuple[str, str] | None = None  # (url, secret) for Higgsfield to call when the job ends

    def body(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": MODELS[self.model],
            "prompt": self.prompt,
            "motions": [{"id": self.motion_id, "strength": self.motion_strength}],
            "input_images": [{"type": "image_url", "image_url": self.image_url}],
        }
        if self.seed is not None:
            params["seed"] = self.seed
        if self.enhance_prompt:
            params["enhance_prompt"] = True
        body: dict[str, Any] = {"params": params}
        if self.webhook:
            body["webhook"] = {"url": self.webhook[0], "secret": self.webhook[1]}
        return body


@dataclass(frozen=True, slots=True)
class JobState:
    status: str
    video_url: str | None = None
    thumbnail_url: str | None = None


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else response.text[:300]


class HiggsfieldClient:
    def __init__(
        self, http: httpx.AsyncClient | ShardedHttp, base_url: str, api_key: str, api_secret: str
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._headers = {"hf-api-key": api_key, "hf-secret": api_secret}

    async def _call(
        self, method: str, url: str, *, endpoint: str, costly: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """One request; counted and timed by `endpoint` and outcome for the metrics."""
        started = time.perf_counter()
        outcome = "transient"  # also for a call cut short (a cancelled task, a bug in between)
        try:
            response = await self._send(method, url, costly=costly, **kwargs)
            outcome = "ok"
            return response
        except ConcurrencyCapReached:
            outcome = "concurrency_cap"
            raise
        except UpstreamPermanent:
            outcome = "permanent"
            raise
        finally:
            metrics.observe_upstream(endpoint, outcome, time.perf_counter() - started)

    async def _send(self, method: str, url: str, *, costly: bool, **kwargs: Any) -> httpx.Response:
        what = f"{method} {url.split('?')[0]}"
        try:
            response = await self._http.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise UpstreamTransient(f"{what}: could not connect ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            # The request went out but no answer came back: it may have been acted upon.
            raise UpstreamTransient(
                f"{what}: no answer ({type(exc).__name__})", maybe_delivered=costly
            ) from exc
        status = response.status_code
        if status < 400:
            return response
        detail = _detail(response)
        message = f"{what} answered {status}: {detail}"
        if status == 400 and CONCURRENCY_CAP_MARKER in detail.lower():
            raise ConcurrencyCapReached(message, status_code=status)
        if status in TRANSIENT_STATUSES or status >= 500:
            raise UpstreamTransient(message, status_code=status)
        raise UpstreamPermanent(message, status_code=status)

    async def _api(
        self, method: str, path: str, *, endpoint: str, costly: bool = False, **kwargs: Any
    ) -> Any:
        response = await self._call(
            method, self._base_url + path, endpoint=endpoint, headers=self._headers, costly=costly, **kwargs
        )
        try:
            return response.json()
        except ValueError as exc:
            raise UpstreamPermanent(f"{method} {path}: the answer is not JSON") from exc

    async def upload_image(self, data: bytes, content_type: str) -> str:
        """generate-upload-url, then PUT the bytes with the headers it asks for; returns the public URL."""
        slot = await self._api(
            "POST", "/files/generate-upload-url", endpoint="upload_url", json={"content_type": content_type}
        )
        try:
            upload_url, public_url = slot["upload_url"], slot["public_url"]
        except (KeyError, TypeError) as exc:
            raise UpstreamPermanent("generate-upload-url: the answer lacks upload_url/public_url") from exc
        headers = slot.get("upload_headers") or {"Content-Type": slot.get("content_type") or content_type}
        # The upload URL is a storage URL, not Higgsfield's API: no credentials go there.
        await self._call("PUT", upload_url, endpoint="put", content=data, headers=headers)
        return str(public_url)

    async def list_motions(self) -> list[dict[str, Any]]:
        motions = await self._api("GET", "/v1/motions", endpoint="motions")
        if not isinstance(motions, list):
            raise UpstreamPermanent("GET /v1/motions: the answer is not a list")
        return motions

    async def submit_dop(self, request: DopRequest) -> str:
        """Starts a paid job; returns its job-set id."""
        job_set = await self._api(
            "POST", "/v1/image2video/dop", endpoint="dop", json=request.body(), costly=True
        )
        job_set_id = job_set.get("id") if isinstance(job_set, dict) else None
        if not job_set_id:
            raise UpstreamPermanent("POST /v1/image2video/dop: the answer has no job-set id")
        return str(job_set_id)

    async def get_job_set(self, job_set_id: str) -> JobState:
        job_set = await self._api("GET", f"/v1/job-sets/{job_set_id}", endpoint="job_set")
        jobs = job_set.get("jobs") if isinstance(job_set, dict) else None
        if not jobs:
            raise UpstreamTransient(f"GET /v1/job-sets/{job_set_id}: no jobs in the answer yet")
        job = jobs[0]
        results = job.get("results") or {}
        return JobState(
            status=str(job.get("status")),
            video_url=(results.get("raw") or {}).get("url"),
            thumbnail_url=(results.get("min") or {}).get("url"),
        )
