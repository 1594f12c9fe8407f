"""Taking a new task in: idempotent replay, then (for a new one) storing it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from src.auth import limits
from src.blobs import BlobStore
from src.core.config import Settings
from src.tasks import idempotency
from src.tasks import service as tasks
from src.tasks.service import NewTask


@dataclass(frozen=True, slots=True)
class Intake:
    status_code: int
    body: dict[str, Any]
    replayed: bool


async def take(
    client_id: uuid.UUID,
    new: NewTask,
    settings: Settings,
    blobs: BlobStore,
    key: str | None,
    *,
    created_status: int,
) -> Intake:
    """A replay answers at once; a new task counts against the client's rate limit first.
    `created_status` is the status code of the answer to a new task, stored for its replays."""
    if key is None:
        await limits.check_create_rate(client_id, settings)
        body = await tasks.create(client_id, new, blobs)
        return Intake(created_status, body, replayed=False)
    print_ = idempotency.fingerprint(dict(new.fields), new.image)
    if first := await idempotency.replay(client_id, key, print_, settings.idempotency_ttl):
        return Intake(first.status_code, first.body, replayed=True)
    await limits.check_create_rate(client_id, settings)
    try:
        body = await tasks.create(client_id, new, blobs, idempotency=(key, print_, created_status))
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as it did.
        first = await idempotency.replay(client_id, key, print_, settings.idempotency_ttl)
        if first is None:
            raise
        return Intake(first.status_code, first.body, replayed=True)
    return Intake(created_status, body, replayed=False)
