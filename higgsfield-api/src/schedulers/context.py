"""What the scheduler jobs share: settings, the Higgsfield client and this worker's name."""

from __future__ import annotations

import os
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from src.config import Settings
from src.services.higgsfield import HiggsfieldClient


def new_worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class JobContext:
    settings: Settings
    higgsfield: HiggsfieldClient
    worker_id: str = field(default_factory=new_worker_id)

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with full jitter in [½, 1] of the step, capped."""
        step = min(
            self.settings.retry_max_seconds, self.settings.retry_base_seconds * 2 ** max(attempts - 1, 0)
        )
        return timedelta(seconds=step * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not a secret
