"""A stateful fake Higgsfield for the service's tests, served over real HTTP by `LoopbackServer`.

It speaks the sandbox's wire format (`src.sandbox.protocol`, the same catalog, uploads and
result files) but keeps its jobs in memory so that a test decides when they move, records
what the service sent, and injects faults. The routes are in `tests.fakes.higgsfield_app`.

    fake = FakeHiggsfield(reads_per_step=1, max_concurrency=2)
    with LoopbackServer(fake.app) as server:
        ...  # point the service at server.url with fake.settings.api_key / api_secret
        fake.fail_next("dop", [503, 429])
        assert fake.submissions[0]["params"]["model"] == "dop-turbo"
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException

from src.sandbox.catalog import MOTIONS, Motion
from src.sandbox.jobs import outcome_for_prompt
from src.sandbox.protocol import FINAL_STATUSES, JOB_STATUSES, not_found
from src.sandbox.uploads import UploadStore
from tests.fakes.faults import ENDPOINTS, TRANSIENT_STATUSES, Fault, FaultPlan
from tests.fakes.higgsfield_app import build_fake_app


@dataclass
class FakeSettings:
    """What a test may change on a live fake; `reset()` restores the values it was built with.

    With `reads_per_step=k` a job advances one step on every k-th read of its job set, so it
    is final on read 2k; with None only `advance_all()` and `finish()` move jobs.
    `upload_headers=False` answers `upload_headers: null`, so the client must send the
    Content-Type itself.
    """

    api_key: str = "test-key"
    api_secret: str = "test-secret"
    reads_per_step: int | None = 1
    max_concurrency: int | None = None
    upload_headers: bool = True
    motions: list[Motion] = field(default_factory=lambda: list(MOTIONS))


@dataclass
class FakeJob:
    job_set_id: str  # the job set's id on v1, the request_id on v2
    job_id: str
    outcome: str
    body: dict[str, Any]
    version: str = "v1"
    path: str = ""  # the submission's path: /v1/image2video/dop, /higgsfield-ai/dop/standard, ...
    query: dict[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "queued"
    reads: int = 0

    def advance(self) -> None:
        """queued -> in_progress -> the outcome its prompt chose; a final job stays."""
        if self.status == "queued":
            self.status = "in_progress"
        elif self.status == "in_progress":
            self.status = self.outcome


class FakeHiggsfield:
    """Higgsfield's API with test controls; one lock guards the state (test and server threads)."""

    def __init__(self, **settings: Any) -> None:
        self._initial = FakeSettings(**settings)
        self._lock = threading.Lock()
        self.store = UploadStore()
        self.reset()
        self.app = build_fake_app(self)

    def reset(self) -> None:
        """Back to a fresh fake: settings as built, no records, jobs, uploads or faults."""
        with self._lock:
            self.settings = replace(self._initial, motions=list(self._initial.motions))
            self._uploads: list[tuple[bytes, str]] = []
            self._submissions: list[dict[str, Any]] = []
            self._calls: Counter[str] = Counter()
            self._jobs: dict[str, FakeJob] = {}
            self._max_live_jobs = 0
            self._faults = FaultPlan()
            self.store.clear()

    # Records: copies, taken under the lock.

    @property
    def uploads(self) -> list[tuple[bytes, str]]:
        """(bytes, content type) of every accepted PUT, in order."""
        with self._lock:
            return list(self._uploads)

    @property
    def submissions(self) -> list[dict[str, Any]]:
        """The JSON bodies of accepted DoP submissions, as sent."""
        with self._lock:
            return list(self._submissions)

    @property
    def prompts(self) -> list[str]:
        """The prompt of every accepted submission, in order, whichever generation sent it."""
        return [body.get("params", body).get("prompt", "") for body in self.submissions]

    @property
    def image_urls(self) -> list[str]:
        """The image URL of every accepted submission, in order, whichever generation sent it."""
        return [
            body["params"]["input_images"][0]["image_url"] if "params" in body else body["image_url"]
            for body in self.submissions
        ]

    @property
    def calls(self) -> Counter[str]:
        """Calls per endpoint (names in `ENDPOINTS`), counted before faults and auth."""
        with self._lock:
            return Counter(self._calls)

    @property
    def job_set_reads(self) -> int:
        with self._lock:
            return self._calls["job_set"]

    @property
    def max_live_jobs(self) -> int:
        """The most jobs that were queued or in progress at once."""
        with self._lock:
            return self._max_live_jobs

    def live_jobs(self) -> int:
        with self._lock:
            return self._live()

    def jobs(self) -> list[FakeJob]:
        """Snapshots of every job, in submission order."""
        with self._lock:
            return [replace(job) for job in self._jobs.values()]

    # Controls.

    def advance_all(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.advance()

    def finish(self, job_set_id: str, status: str = "completed") -> None:
        """Put a job in any status at once (`failed`, `canceled`, ..., even back to `queued`)."""
        if status not in JOB_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._lock:
            self._jobs[job_set_id].status = status

    def fail_next(
        self,
        endpoint: str,
        statuses: Iterable[int],
        *,
        delay: float = 0.0,
        after: bool = False,
        detail: str | None = None,
    ) -> None:
        """The next calls to `endpoint` answer these statuses, one call each, in order (see `Fault`)."""
        faults = [Fault(status=status, delay=delay, after=after, detail=detail) for status in statuses]
        with self._lock:
            self._faults.queue(endpoint, faults)

    def hang_next(self, endpoint: str, seconds: float, *, count: int = 1, after: bool = False) -> None:
        """The next `count` calls answer normally but only after `seconds` (past a client's timeout).

        Without `after` the work happens once the delay is over, even if the client gave up;
        with it the work happens at once and only the answer is late.
        """
        with self._lock:
            self._faults.queue(endpoint, [Fault(delay=seconds, after=after)] * count)

    def set_fault_rate(
        self,
        rate: float,
        *,
        seed: int = 0,
        statuses: Iterable[int | None] = TRANSIENT_STATUSES,
        endpoints: Iterable[str] = ENDPOINTS,
        hang_seconds: float = 0.0,
    ) -> None:
        """Random faults for stress tests, reproducible through `seed`; rate 0 turns them off.
        A `None` among `statuses` is a hang of `hang_seconds` before the call is served."""
        with self._lock:
            self._faults.set_rate(
                rate, seed=seed, statuses=statuses, endpoints=endpoints, hang_seconds=hang_seconds
            )

    # Called by the routes.

    def _live(self) -> int:
        return sum(job.status not in FINAL_STATUSES for job in self._jobs.values())

    def take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            self._calls[endpoint] += 1
            return self._faults.take(endpoint)

    def record_upload(self, file_name: str, data: bytes, content_type: str) -> None:
        self.store.put(file_name, data, content_type)
        with self._lock:
            self._uploads.append((data, content_type))

    def submit(
        self,
        body: dict[str, Any],
        prompt: str,
        *,
        version: str,
        path: str,
        query: dict[str, str] | None = None,
    ) -> FakeJob:
        """A new queued job, unless the account's concurrency cap is reached (400, as Higgsfield)."""
        with self._lock:
            cap = self.settings.max_concurrency
            if cap is not None and self._live() >= cap:
                raise HTTPException(400, f"Maximum number of concurrent requests ({cap}) has been reached")
            job = FakeJob(
                str(uuid.uuid4()),
                str(uuid.uuid4()),
                outcome_for_prompt(prompt),
                body,
                version=version,
                path=path,
                query=dict(query or {}),
            )
            self._jobs[job.job_set_id] = job
            self._submissions.append(body)
            self._max_live_jobs = max(self._max_live_jobs, self._live())
            return replace(job)

    def read(self, job_set_id: str, version: str) -> FakeJob:
        """The job after this read, which may move it a step. A job is known only to the API
        generation it was submitted through (a v2 request is no v1 job set): else a 404."""
        with self._lock:
            job = self._jobs.get(job_set_id)
            if job is None or job.version != version:
                raise not_found()
            job.reads += 1
            step = self.settings.reads_per_step
            if step and job.reads % step == 0:
                job.advance()
            return replace(job)

    def cancel(self, request_id: str) -> bool:
        """v2's cancel: a queued job becomes canceled (True); one that has started stays (False)."""
        with self._lock:
            job = self._jobs.get(request_id)
            if job is None or job.version != "v2":
                raise not_found()
            if job.status != "queued":
                return False
            job.status = "canceled"
            return True

    def status_of(self, job_set_id: str) -> str | None:
        with self._lock:
            job = self._jobs.get(job_set_id)
            return None if job is None else job.status
