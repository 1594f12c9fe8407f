"""Idempotency-Key on create, with Stripe's rules: the same key from the same client within
the TTL replays the first answer (same status and body) and makes no second task; the same
key with different fields is a 409. Only answers that created a task are kept."""

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

from src.core.clock import utcnow
from src.core.errors import Conflict
from src.db.models import IdempotencyKey


def fingerprint(fields: dict[str, Any], image: bytes) -> str:
    """A digest of everything the client sent: its form fields (as validated) and image bytes."""
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode())
    digest.update(hashlib.sha256(image).digest())
    return digest.hexdigest()


async def replay(
    client_id: uuid.UUID, key: str, print_: str, ttl: timedelta
) -> tuple[int, dict[str, Any]] | None:
    """The stored first answer (status code, body) for this key, None when the key is new (or expired)."""
    row = await IdempotencyKey.get_or_none(client_id=client_id, key=key)
    if row is None:
        return None
    if row.created_at < utcnow() - ttl:
        await IdempotencyKey.filter(id=row.id).delete()  # expired: the key may be used afresh
        return None
    if row.fingerprint != print_:
        raise Conflict(
            "This Idempotency-Key was already used with different fields; use a new key for a new task"
        )
    return row.status_code, row.response


async def remember(
    client_id: uuid.UUID, key: str, print_: str, task_id: uuid.UUID, status_code: int, body: dict[str, Any]
) -> None:
    """Stores the first answer; call inside the transaction that creates the task."""
    await IdempotencyKey.create(
        client_id=client_id,
        key=key,
        fingerprint=print_,
        task_id=task_id,
        status_code=status_code,
        response=body,  # as rendered for the answer (src/tasks/schemas.py: render_task)
    )
