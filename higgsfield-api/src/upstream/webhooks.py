"""Higgsfield's webhook: a hint that a job changed. The poller stays the source of truth.

Submissions give Higgsfield `.../api/higgsfield/webhook?task=<id>&token=<token>`. v1 sends our
HF_WEBHOOK_SECRET back; v2 sends no secret, so the token (an HMAC of the task id) makes a call
ours. A valid call makes the job's tasks due for a read (repeats change nothing), and reconciles
a task still `submitting` whose submission answer was lost.
"""

import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from src.blobs import BlobStore
from src.core.clock import utcnow
from src.core.config import Settings, reveal
from src.core.errors import InvalidField, NotFound, Unauthorized
from src.core.security import same_secret
from src.db.models import UPSTREAM_STATUSES, Task
from src.tasks import transitions

logger = logging.getLogger(__name__)


def task_token(secret: str, task_id: uuid.UUID) -> str:
    return hmac.new(secret.encode(), f"hf-webhook:{task_id}".encode(), hashlib.sha256).hexdigest()[:40]


def url_for(settings: Settings, task_id: uuid.UUID) -> str | None:
    """The webhook URL given to Higgsfield with a task, or None when webhooks are off."""
    secret = reveal(settings.hf_webhook_secret)
    if not settings.hf_webhook_url or not secret:
        return None
    query = urlencode({"task": str(task_id), "token": task_token(secret, task_id)})
    return f"{settings.hf_webhook_url}?{query}"


@dataclass(frozen=True, slots=True)
class WebhookCall:
    secret: str | None  # X-Webhook-Secret-Key (v1)
    task: str | None  # ?task=
    token: str | None  # ?token= (v1 and v2)
    payload: Any


def job_id_of(payload: Any) -> str:
    """The job's id: `request_id` on v2, the job set's `id` on v1."""
    job_id = None
    if isinstance(payload, dict):
        job_id = payload.get("request_id") or payload.get("id") or payload.get("job_set_id")
    if not isinstance(job_id, str) or not 0 < len(job_id) <= 64:
        raise InvalidField("request_id", "The webhook body must name the job: request_id (v2) or id (v1)")
    return job_id


async def called(settings: Settings, blobs: BlobStore, call: WebhookCall) -> int:
    """Checks the call, then makes its job's tasks due now; returns how many will be read. The
    shared secret (v1) opens every job, a task token that task's job only."""
    expected = reveal(settings.hf_webhook_secret)
    if not settings.hf_webhook_url or not expected:
        raise NotFound("Not Found")  # not configured: the route does not exist
    try:
        task_id = uuid.UUID(call.task) if call.task else None
    except ValueError:
        task_id = None
    by_token = not same_secret(call.secret, expected)
    if by_token and (task_id is None or not same_secret(call.token, task_token(expected, task_id))):
        raise Unauthorized("Invalid webhook secret or token")
    job_id = job_id_of(call.payload)
    if task_id is not None and await transitions.reconcile_submitting(blobs, task_id, job_id):
        logger.warning("Task %s reconciled with Higgsfield job %s from a webhook", task_id, job_id)
    in_flight = Task.filter(upstream_job_id=job_id, status__in=list(UPSTREAM_STATUSES))
    if by_token:
        in_flight = in_flight.filter(id=task_id)  # a token speaks for its own task only
    now = utcnow()
    await in_flight.filter(next_attempt_at__gt=now).update(next_attempt_at=now)
    # One already due counts too: it waits for the next poll round, which the call brings forward.
    return await in_flight.count()
