"""The one module that sends requests to Higgsfield; what they look like is the generation's
(`src.upstream.generations`), how they fail is `src.upstream.errors`."""

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from src.metrics import prometheus as metrics
from src.upstream.errors import (
    AccountRefused,
    CancelRefused,
    ConcurrencyCapReached,
    UpstreamPermanent,
    UpstreamTransient,
)
from src.upstream.generations import Call, Generation, JobState, Submission
from src.upstream.http_pool import ShardedHttp

TRANSIENT_STATUSES = frozenset({408, 425, 429})
# The account's key or secret refused, or the account not allowed: counted apart for the alerts.
REFUSAL_STATUSES = frozenset({401, 403})
CONCURRENCY_CAP_MARKER = "maximum number of concurrent requests"
STORAGE_ENDPOINT = "put"  # the upload's PUT goes to a storage URL, without the account's credentials


def upstream_timeout(seconds: float) -> httpx.Timeout:
    """`seconds` for the whole of a call's phases; connecting gets at most 10 s of them."""
    return httpx.Timeout(seconds, connect=min(10.0, seconds))


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    # FastAPI's `detail` (v1 and most errors), or v2's `error`.
    detail = (body.get("detail") or body.get("error")) if isinstance(body, dict) else None
    return str(detail) if detail else response.text[:300]


async def _ignore_refusal(message: str) -> None:
    return None


class HiggsfieldClient:
    """Higgsfield through one account and one API generation. A 401 or 403 of the account's own
    calls (not of a storage URL) is handed to `on_refusal` and raised as AccountRefused."""

    def __init__(
        self,
        http: httpx.AsyncClient | ShardedHttp,
        base_url: str,
        credentials: tuple[str, str],
        generation: Generation,
        on_refusal: Callable[[str], Awaitable[None]] = _ignore_refusal,
        status_timeout: float | None = None,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self.generation = generation
        self._headers = generation.headers(*credentials)
        self._on_refusal = on_refusal
        # Status reads have a timeout of their own (HF_STATUS_TIMEOUT_SECONDS); None: the client's.
        self._status_options = {} if status_timeout is None else {"timeout": upstream_timeout(status_timeout)}

    async def _call(
        self, method: str, url: str, *, endpoint: str, costly: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """One request, counted and timed for the metrics."""
        started = time.perf_counter()
        outcome = "transient"  # also for a call cut short (a cancelled task, a bug in between)
        try:
            response = await self._send(method, url, costly=costly, **kwargs)
            outcome = "ok"
            return response
        except ConcurrencyCapReached:
            outcome = "concurrency_cap"
            raise
        except UpstreamPermanent as exc:
            outcome = "permanent"
            if exc.status_code not in REFUSAL_STATUSES:
                raise
            metrics.observe_upstream_refusal(endpoint, exc.status_code)
            if endpoint == STORAGE_ENDPOINT:  # a storage URL's refusal says nothing of the account
                raise
            await self._on_refusal(str(exc))
            raise AccountRefused(str(exc), status_code=exc.status_code) from exc
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

    async def _api(self, call: Call, *, endpoint: str, costly: bool = False, **options: Any) -> Any:
        response = await self._call(
            call.method,
            self._base_url + call.path,
            endpoint=endpoint,
            headers=self._headers,
            costly=costly,
            json=call.json,
            params=call.params,
            **options,
        )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise UpstreamPermanent(f"{call.method} {call.path}: the answer is not JSON") from exc

    async def upload_image(self, data: bytes, content_type: str) -> str:
        """generate-upload-url, then PUT the bytes with the headers it asks for; returns the public URL."""
        slot = await self._api(
            Call("POST", "/files/generate-upload-url", json={"content_type": content_type}),
            endpoint="upload_url",
        )
        try:
            upload_url, public_url = slot["upload_url"], slot["public_url"]
        except (KeyError, TypeError) as exc:
            raise UpstreamPermanent("generate-upload-url: the answer lacks upload_url/public_url") from exc
        headers = slot.get("upload_headers") or {"Content-Type": slot.get("content_type") or content_type}
        # The upload URL is a storage URL, not Higgsfield's API: no credentials go there.
        await self._call("PUT", upload_url, endpoint=STORAGE_ENDPOINT, content=data, headers=headers)
        return str(public_url)

    async def file_served(self, url: str, *, within: float) -> bool:
        """Whether Higgsfield still serves a file it stored (an uploaded image's public URL): one
        HEAD without credentials, as that is a storage URL. Any 4xx says it is gone (storage answers
        403 or 404 for an expired object); UpstreamTransient when it cannot be told."""
        what = f"HEAD {url.split('?')[0]}"
        try:
            response = await self._http.request("HEAD", url, timeout=within)
        except httpx.TransportError as exc:
            raise UpstreamTransient(f"{what}: no answer ({type(exc).__name__})") from exc
        status = response.status_code
        if status in TRANSIENT_STATUSES or status >= 500:
            raise UpstreamTransient(f"{what} answered {status}", status_code=status)
        return status < 400

    async def list_motions(self) -> list[dict[str, Any]] | None:
        """Higgsfield's motion catalog, or None when this generation has none."""
        call = self.generation.catalog()
        if call is None:
            return None
        motions = await self._api(call, endpoint="motions")
        if not isinstance(motions, list):
            raise UpstreamPermanent(f"{call.method} {call.path}: the answer is not a list")
        return motions

    async def submit(self, submission: Submission) -> str:
        """Starts a paid job; returns Higgsfield's id of it."""
        answer = await self._api(self.generation.submit(submission), endpoint="dop", costly=True)
        return self.generation.request_id(answer)

    async def status(self, request_id: str) -> JobState:
        call = self.generation.status(request_id)
        answer = await self._api(call, endpoint="job_set", **self._status_options)
        return self.generation.job_state(request_id, answer)

    async def cancel(self, request_id: str) -> None:
        """Cancels a job Higgsfield has not started; CancelRefused when it has (or cannot cancel)."""
        call = self.generation.cancel(request_id)
        if call is None:
            raise CancelRefused(f"Higgsfield's {self.generation.version} API cannot cancel a job")
        try:
            await self._api(call, endpoint="cancel")
        except UpstreamPermanent as exc:
            if exc.status_code == 400:
                raise CancelRefused(str(exc), status_code=400) from exc
            raise
