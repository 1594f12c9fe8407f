"""Stateless sandbox jobs: everything about a job is written into its job-set id.

The service may run several uvicorn workers, each mounting its own sandbox, and a job
created through one worker may be read through another or after a restart. So the
sandbox keeps no job table: the job-set id is a UUIDv8 carrying the creation time and
the outcome chosen at submission, and the status is derived from the clock when read.

Layout (RFC 9562 UUIDv8): 48-bit unix time in ms | version 8 | 2-bit outcome + 10 random
bits | variant 0b10 | 62 random bits.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

OUTCOMES = ("completed", "nsfw", "failed")
_JOB_ID_NAMESPACE = uuid.UUID("3a22bc6e-b7b4-43e2-9686-c786bb921e4e")
_VERSION = 8
_VARIANT = 0b10


def outcome_for_prompt(prompt: str) -> str:
    """The final status a prompt leads to, so that a developer can try every ending by hand."""
    words = prompt.casefold()
    if "nsfw" in words:
        return "nsfw"
    if "explode" in words:
        return "failed"
    return "completed"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_job_set_id(outcome: str, created_ms: int | None = None) -> str:
    created = now_ms() if created_ms is None else created_ms
    rand_a = (OUTCOMES.index(outcome) << 10) | secrets.randbits(10)
    value = (
        (created & (2**48 - 1)) << 80 | _VERSION << 76 | rand_a << 64 | _VARIANT << 62 | secrets.randbits(62)
    )
    return str(uuid.UUID(int=value))


@dataclass(frozen=True)
class SandboxJob:
    job_set_id: str
    created_ms: int
    outcome: str

    @property
    def job_id(self) -> str:
        """Derived, not stored: the same job set always names the same job."""
        return str(uuid.uuid5(_JOB_ID_NAMESPACE, self.job_set_id))

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self.created_ms / 1000, UTC)

    def status(self, job_seconds: float, at_ms: int | None = None) -> str:
        """`queued` for the first third of `job_seconds`, then `in_progress`, then the outcome."""
        elapsed = (now_ms() if at_ms is None else at_ms) - self.created_ms
        total = job_seconds * 1000
        if elapsed >= total:
            return self.outcome
        return "queued" if elapsed < total / 3 else "in_progress"


def read_job_set_id(value: str) -> SandboxJob | None:
    """The job behind an id this sandbox made, or None for anything else (a 404)."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    bits = parsed.int
    outcome_index = (bits >> 74) & 0b11
    if (bits >> 76) & 0xF != _VERSION or (bits >> 62) & 0b11 != _VARIANT or outcome_index >= len(OUTCOMES):
        return None
    return SandboxJob(job_set_id=str(parsed), created_ms=bits >> 80, outcome=OUTCOMES[outcome_index])
