"""What a sandbox knows: its settings, this worker's jobs and uploads, a record of calls and the
faults to inject. Tests turn these knobs directly; none is reachable over HTTP."""

import asyncio
import random
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import HTTPException

from src.motions.builtin import MOTIONS, Motion
from src.sandbox.jobs import FINAL, STATUSES, Job, new_job_set_id, now_ms, outcome_for_prompt
from src.sandbox.protocol import not_found
from src.sandbox.uploads import UploadStore

# The newest jobs a worker keeps; an older one is rebuilt from its id, as another worker's is.
MAX_JOBS = 1000
# The sandbox's endpoints by role, the same in both generations: its routes' names.
ENDPOINTS = ("upload_url", "put", "file", "motions", "dop", "job_set", "cancel", "output")
TRANSIENT_STATUSES = (500, 502, 503, 429)


@dataclass(frozen=True)
class Fault:
    """What one call suffers: `status` None answers normally after `delay`. With `after` the call
    does its work first (a job is created) and only then delays or fails: the answer is lost."""

    status: int | None = None
    delay: float = 0.0
    after: bool = False
    detail: str | None = None

    async def apply(self) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status is not None:
            raise HTTPException(self.status, self.detail or f"Injected fault (HTTP {self.status})")


@dataclass
class SandboxSettings:
    """`job_seconds`: a job is `in_progress` after a third of it, final after all of it (None: no
    clock). `reads_per_step=k`: every k-th read also advances it. `upload_headers=False` answers
    `upload_headers: null`. Over `max_concurrency` live jobs a submission gets Higgsfield's 400.
    `accounts`: more accounts, by key (each with `api_secret`), each with its own cap (None: none)."""

    api_key: str = "sandbox"
    api_secret: str = "sandbox"  # noqa: S105 - the sandbox's credentials are public by design
    job_seconds: float | None = 6.0
    reads_per_step: int | None = None
    max_concurrency: int | None = None
    accounts: dict[str, int | None] = field(default_factory=dict)
    upload_headers: bool = True
    # An output file is sent over this many seconds (a slow storage, for tests of a copy cut short).
    output_seconds: float = 0.0
    motions: list[Motion] = field(default_factory=lambda: list(MOTIONS))

    def __post_init__(self) -> None:
        if self.job_seconds is not None and self.job_seconds < 0:
            raise ValueError("job_seconds must not be negative")


class Sandbox:
    """Higgsfield's API state; one lock guards it, as a test's thread and the server's share it."""

    def __init__(self, **settings: Any) -> None:
        self._initial = SandboxSettings(**settings)
        self._lock = threading.RLock()  # reentrant: reset() sets the fault rate under it
        self.store = UploadStore()
        # Counts resets: a call that was waiting out a fault when the sandbox was reset does no work.
        self.epoch = 0
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.epoch += 1
            initial = self._initial
            self.settings = replace(initial, motions=list(initial.motions), accounts=dict(initial.accounts))
            self._jobs: OrderedDict[str, Job] = OrderedDict()
            self._calls: Counter[str] = Counter()
            self._account_calls: Counter[tuple[str, str]] = Counter()
            self._max_live_jobs = 0
            self._max_live_by_account: Counter[str] = Counter()
            self._refused: dict[str, tuple[int, frozenset[str]]] = {}
            self._queued: dict[str, deque[Fault]] = {endpoint: deque() for endpoint in ENDPOINTS}
            self.set_fault_rate(0)
            self.store.clear()

    # Records: copies, taken under the lock.

    @property
    def uploads(self) -> list[tuple[bytes, str]]:
        return self.store.files()

    @property
    def submissions(self) -> list[dict[str, Any]]:
        return [job.body for job in self.jobs() if job.body is not None]

    @property
    def calls(self) -> Counter[str]:
        """Calls per endpoint, counted before faults and auth."""
        with self._lock:
            return Counter(self._calls)

    @property
    def max_live_jobs(self) -> int:
        with self._lock:
            return self._max_live_jobs

    @property
    def max_live_by_account(self) -> dict[str, int]:
        """The most jobs each account (by key) had live at once."""
        with self._lock:
            return dict(self._max_live_by_account)

    def account_calls(self, key: str) -> Counter[str]:
        """Calls per endpoint made with the account `key`, counted once its credentials passed."""
        with self._lock:
            return Counter({endpoint: n for (endpoint, by), n in self._account_calls.items() if by == key})

    @property
    def account_keys(self) -> list[str]:
        return [self.settings.api_key, *self.settings.accounts]

    def refuse(self, key: str, status: int | None = 403, *, endpoints: Iterable[str] = ENDPOINTS) -> None:
        """Every call of the account `key` to `endpoints` answers `status` (403: no credits,
        401: a bad key; None: served again)."""
        with self._lock:
            if status is None:
                self._refused.pop(key, None)
            else:
                chosen = frozenset(endpoints)
                for endpoint in chosen:
                    self._queue_of(endpoint)  # a known endpoint
                self._refused[key] = (status, chosen)

    def check_account(self, key: str, endpoint: str) -> None:
        """Counts a call of the account; its refusal, if it has one, as Higgsfield answers it."""
        with self._lock:
            self._account_calls[(endpoint, key)] += 1
            status, endpoints = self._refused.get(key, (None, frozenset()))
        if status is not None and endpoint in endpoints:
            raise HTTPException(status, "Not enough credits" if status == 403 else "Invalid credentials")

    def jobs(self) -> list[Job]:
        with self._lock:
            return [replace(job) for job in self._followed()]

    def advance_all(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.advance()

    def finish(self, job_set_id: str, status: str = "completed") -> None:
        """Puts a job in any status at once, even back to `queued`."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._lock:
            self._jobs[job_set_id].status = status

    def expire_upload(self, public_url: str) -> None:
        """Higgsfield keeps an uploaded file for a while only: the file at this public URL is gone
        from now on (its GET and HEAD answer 404), as once its storage let it expire."""
        self.store.drop(public_url.rsplit("/", 1)[-1])

    def fail_next(
        self,
        endpoint: str,
        statuses: Iterable[int | None],
        *,
        delay: float = 0.0,
        after: bool = False,
        detail: str | None = None,
    ) -> None:
        """The next calls to `endpoint` answer these statuses, one call each, in order (see `Fault`)."""
        with self._lock:
            self._queue_of(endpoint).extend(Fault(status, delay, after, detail) for status in statuses)

    def hang_next(self, endpoint: str, seconds: float, *, after: bool = False) -> None:
        """The next call answers normally after `seconds`; its work is done after the delay (even if
        the client gave up), or at once with `after`."""
        self.fail_next(endpoint, [None], delay=seconds, after=after)

    def set_fault_rate(
        self,
        rate: float,
        *,
        seed: int = 0,
        statuses: Iterable[int | None] = TRANSIENT_STATUSES,
        endpoints: Iterable[str] = ENDPOINTS,
        hang_seconds: float = 0.0,
    ) -> None:
        """Each call to `endpoints` without a queued fault fails with probability `rate`,
        reproducibly through `seed`; a `None` among `statuses` hangs `hang_seconds`, then serves."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be within 0..1")
        with self._lock:
            chosen = frozenset(endpoints)
            for endpoint in chosen:
                self._queue_of(endpoint)
            self._rate, self._random, self._rate_endpoints = rate, random.Random(seed), chosen  # noqa: S311
            self._rate_statuses, self._hang_seconds = tuple(statuses), hang_seconds

    # Called by the routes.

    def take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            self._calls[endpoint] += 1
            queued = self._queue_of(endpoint)
            if queued:
                return queued.popleft()
            if endpoint in self._rate_endpoints and self._random.random() < self._rate:
                status = self._random.choice(self._rate_statuses)
                return Fault(status=status) if status is not None else Fault(delay=self._hang_seconds)
            return None

    def submit(
        self,
        body: dict[str, Any],
        prompt: str,
        *,
        version: str,
        path: str,
        query: dict[str, str] | None = None,
        account: str | None = None,
    ) -> Job:
        """A new job of `account` (a key; None: the default account), within that account's cap."""
        account = account or self.settings.api_key
        with self._lock:
            cap = self.settings.accounts.get(account, self.settings.max_concurrency)
            if cap is not None and self._live(account) >= cap:
                raise HTTPException(400, f"Maximum number of concurrent requests ({cap}) has been reached")
            outcome = outcome_for_prompt(prompt)
            job_set_id = new_job_set_id(outcome, version)
            job = Job(job_set_id, now_ms(), outcome, version, body=body, path=path, query=dict(query or {}))
            job.account = account
            answer = replace(self._keep(job))  # queued, however short the job: as Higgsfield answers
            self._max_live_jobs = max(self._max_live_jobs, self._live())
            live = self._live(account)
            self._max_live_by_account[account] = max(self._max_live_by_account[account], live)
            return answer

    def read(self, job_set_id: str, version: str, account: str | None = None) -> Job:
        """The job after this read, which may move it a step; 404 from another generation, or
        from another account than the one that submitted it."""
        with self._lock:
            job = self._job(job_set_id, version, account)
            job.reads += 1
            step = self.settings.reads_per_step
            if step and job.reads % step == 0:
                job.advance()
            return replace(job)

    def status_of(self, job_set_id: str) -> str:
        """A job's status without a read that could move it."""
        with self._lock:
            return self._job(job_set_id, None).status

    def cancel(self, request_id: str, account: str | None = None) -> bool:
        """v2's cancel: False when the job has started; 404 from another account."""
        with self._lock:
            job = self._job(request_id, "v2", account)
            if job.status != "queued":
                return False
            job.status = "canceled"
            return True

    def _queue_of(self, endpoint: str) -> deque[Fault]:
        if endpoint not in self._queued:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}")
        return self._queued[endpoint]

    def _job(self, job_set_id: str, version: str | None, account: str | None = None) -> Job:
        rebuilt = Job.from_id(job_set_id)
        if rebuilt is None or version not in (None, rebuilt.version):
            raise not_found()
        job = self._jobs.get(rebuilt.job_set_id) or self._keep(rebuilt)
        if account is not None and job.account not in (None, account):
            raise not_found()  # another account's job: Higgsfield does not show it
        job.follow_clock(self.settings.job_seconds)
        return job

    def _keep(self, job: Job) -> Job:
        self._jobs[job.job_set_id] = job
        while len(self._jobs) > MAX_JOBS:
            self._jobs.popitem(last=False)
        return job

    def _followed(self) -> list[Job]:
        for job in self._jobs.values():
            job.follow_clock(self.settings.job_seconds)
        return list(self._jobs.values())

    def _live(self, account: str | None = None) -> int:
        """Live jobs, of every account or of one (a job rebuilt from its id counts as the default's)."""
        default = self.settings.api_key
        return sum(
            job.status not in FINAL and account in (None, job.account or default) for job in self._followed()
        )
