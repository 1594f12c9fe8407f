"""Claims instead of locks: one conditional UPDATE sets `lease_owner`/`lease_until` where the
lease is free, so processes never work on the same task and a crashed worker's rows come free."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from src.core.clock import utcnow
from src.db.models import Task


def lease_free(now: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def new_claim_token(worker_id: str) -> str:
    return f"{worker_id}:{uuid.uuid4().hex[:12]}"


async def claim_batch(
    *,
    filters: Q,
    order_by: tuple[str, ...],
    limit: int,
    token: str,
    lease_seconds: float,
    next_attempt_at: datetime | None = None,
) -> list[uuid.UUID]:
    """Claims up to `limit` tasks matching `filters` whose lease is free, and sets their
    `next_attempt_at` too when given. Returns the ids this claim won."""
    now = utcnow()
    candidates = await (
        Task.filter(filters, lease_free(now)).order_by(*order_by).limit(limit).values_list("id", flat=True)
    )
    if not candidates:
        return []
    claimed = Task.filter(filters, lease_free(now), id__in=list(candidates))
    until = now + timedelta(seconds=lease_seconds)
    if next_attempt_at is None:
        won = await claimed.update(lease_owner=token, lease_until=until)
    else:
        won = await claimed.update(lease_owner=token, lease_until=until, next_attempt_at=next_attempt_at)
    if not won:
        return []
    return list(await Task.filter(lease_owner=token, id__in=list(candidates)).values_list("id", flat=True))


async def update_claimed(task_id: uuid.UUID, token: str, *, release: bool = True, **fields: Any) -> bool:
    """Writes to a task only while this claim still holds it; True when it did."""
    if "status" in fields:
        raise ValueError("a task's status is written by src.tasks.transitions only")
    if release:
        fields.update(lease_owner=None, lease_until=None)
    return bool(await Task.filter(id=task_id, lease_owner=token).update(**fields))
