"""Sandbox jobs: the job-set id carries the job, so any worker (or a restarted one) rebuilds it.

The id is a UUIDv8 (RFC 9562): 48-bit unix time in ms | version 8 | 2-bit outcome, 1-bit
generation, 9 random bits | variant 0b10 | 62 random bits. The status follows the clock.
"""

import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

OUTCOMES = ("completed", "nsfw", "failed")
GENERATIONS = ("v1", "v2")
STATUSES = ("queued", "in_progress", "completed", "failed", "nsfw", "canceled")
FINAL = frozenset(STATUSES[2:])
_JOB_ID_NAMESPACE = uuid.UUID("3a22bc6e-b7b4-43e2-9686-c786bb921e4e")


def outcome_for_prompt(prompt: str) -> str:
    """`nsfw` in a prompt ends its job `nsfw`, `explode` ends it `failed`, else `completed`."""
    words = prompt.casefold()
    return "nsfw" if "nsfw" in words else "failed" if "explode" in words else "completed"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_job_set_id(outcome: str, version: str = "v1", created_ms: int | None = None) -> str:
    created = now_ms() if created_ms is None else created_ms
    rand_a = OUTCOMES.index(outcome) << 10 | GENERATIONS.index(version) << 9 | secrets.randbits(9)
    value = (created & (2**48 - 1)) << 80 | 8 << 76 | rand_a << 64 | 0b10 << 62 | secrets.randbits(62)
    return str(uuid.UUID(int=value))


@dataclass
class Job:
    """One job set holding one job. `body` is the submission as sent: None for a job rebuilt from
    its id by another worker."""

    job_set_id: str
    created_ms: int
    outcome: str
    version: str
    status: str = "queued"
    reads: int = 0
    body: dict[str, Any] | None = None
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    account: str | None = None  # the key it was submitted with; None when rebuilt from its id

    @classmethod
    def from_id(cls, value: str) -> Self | None:
        try:
            bits = uuid.UUID(value).int
        except ValueError:
            return None
        outcome = (bits >> 74) & 0b11
        if (bits >> 76) & 0xF != 8 or (bits >> 62) & 0b11 != 0b10 or outcome >= len(OUTCOMES):
            return None
        version = GENERATIONS[(bits >> 73) & 1]
        return cls(str(uuid.UUID(int=bits)), bits >> 80, OUTCOMES[outcome], version)

    @property
    def job_id(self) -> str:
        return str(uuid.uuid5(_JOB_ID_NAMESPACE, self.job_set_id))

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self.created_ms / 1000, UTC)

    def advance(self) -> None:
        """queued -> in_progress -> its outcome; a final job stays."""
        if self.status == "queued":
            self.status = "in_progress"
        elif self.status == "in_progress":
            self.status = self.outcome

    def follow_clock(self, job_seconds: float | None, at_ms: int | None = None) -> str:
        """Moves the job on to where the clock has it, never back; None stops the clock."""
        if job_seconds is not None and self.status not in FINAL:
            elapsed, total = (now_ms() if at_ms is None else at_ms) - self.created_ms, job_seconds * 1000
            if elapsed >= total:
                self.status = self.outcome
            elif elapsed >= total / 3:
                self.status = "in_progress"
        return self.status
