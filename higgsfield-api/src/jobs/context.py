"""What the scheduler jobs share: settings, the HTTP clients, the blob store and this worker's name."""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx

from src.core.config import Settings

if TYPE_CHECKING:  # the jobs layer sits below the packages that use it
    from src.blobs import BlobStore
    from src.upstream.accounts import Accounts


def new_worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class JobContext:
    settings: Settings
    higgsfield: Accounts
    blobs: BlobStore
    worker_id: str = field(default_factory=new_worker_id)
    # Callbacks to clients go through a client of their own: other timeouts, never hf credentials.
    callbacks_http: httpx.AsyncClient | None = None
    # Called when a job ends a task, so that its callback goes out now, not at the next tick.
    on_final: Callable[[], None] = field(default=lambda: None)

    def backoff(self, attempts: int, max_seconds: float | None = None) -> timedelta:
        """Exponential backoff with jitter in [½, 1] of the step, capped (default: retry_max_seconds)."""
        cap = self.settings.retry_max_seconds if max_seconds is None else max_seconds
        step = min(cap, self.settings.retry_base_seconds * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=step * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not a secret
