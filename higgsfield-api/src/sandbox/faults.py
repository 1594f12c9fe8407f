"""Faults the sandbox can be told to inject: queued per endpoint, and a seeded random rate."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import HTTPException

# The sandbox's endpoints by role, the same in both generations (`dop` is v1's
# `POST /v1/image2video/dop` and v2's `POST /higgsfield-ai/dop/{variant}`): its routes' names.
ENDPOINTS = ("upload_url", "put", "file", "motions", "dop", "job_set", "cancel", "output")
TRANSIENT_STATUSES = (500, 502, 503, 429)


@dataclass(frozen=True)
class Fault:
    """What one call suffers. `status` None answers normally after `delay`: a slow upstream.
    With `after` the call does its work first (a job is created, an upload kept) and only then
    delays or fails: the upstream acted but its answer never arrived."""

    status: int | None = None
    delay: float = 0.0
    after: bool = False
    detail: str | None = None

    async def apply(self) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status is not None:
            raise HTTPException(self.status, self.detail or f"Injected fault (HTTP {self.status})")


class FaultPlan:
    """The faults waiting for each endpoint. Not thread-safe: the sandbox calls it under its lock."""

    def __init__(self) -> None:
        self._queued: dict[str, deque[Fault]] = {endpoint: deque() for endpoint in ENDPOINTS}
        # Seeded on purpose: a test's faults are the same on every run.
        self._rate, self._random, self._endpoints = 0.0, random.Random(0), frozenset[str]()  # noqa: S311
        self._statuses: tuple[int | None, ...] = TRANSIENT_STATUSES
        self._hang_seconds = 0.0

    def queue(self, endpoint: str, faults: Iterable[Fault]) -> None:
        self._queue_of(endpoint).extend(faults)

    def set_rate(
        self, rate: float, *, seed: int, statuses: Iterable[int | None], endpoints: Iterable[str], hang: float
    ) -> None:
        """Each call to `endpoints` without a queued fault fails with probability `rate`
        (a `None` status: it hangs `hang` seconds, then is served)."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be within 0..1")
        chosen = frozenset(endpoints)
        for endpoint in chosen:
            self._queue_of(endpoint)
        self._rate, self._random, self._endpoints = rate, random.Random(seed), chosen  # noqa: S311
        self._statuses, self._hang_seconds = tuple(statuses), hang

    def take(self, endpoint: str) -> Fault | None:
        queued = self._queue_of(endpoint)
        if queued:
            return queued.popleft()
        if endpoint in self._endpoints and self._random.random() < self._rate:
            status = self._random.choice(self._statuses)
            return Fault(status=status) if status is not None else Fault(delay=self._hang_seconds)
        return None

    def _queue_of(self, endpoint: str) -> deque[Fault]:
        if endpoint not in self._queued:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}")
        return self._queued[endpoint]
