"""The limits of API.md: task creations per client and minute, failed logins per login. Both are
counted from rows in the shared database, so they hold across worker processes and replicas."""

import math
import uuid
from datetime import timedelta
from typing import Any

from tortoise.models import Model

from src.auth.schemas import RateLimitOut
from src.core.clock import utcnow
from src.core.config import Settings
from src.core.errors import RateLimited
from src.db.models import LoginFailure, Task
from src.db.models.clients import login_key


async def _seconds_to_wait(
    model: type[Model], moment: str, limit: int, window: timedelta, **filters: Any
) -> int | None:
    """None while fewer than `limit` rows fall in the window; else the seconds until the oldest
    counted leaves it. One indexed query: the limit-th newest row of the window."""
    now = utcnow()
    in_window = model.filter(**filters, **{f"{moment}__gte": now - window}).order_by(f"-{moment}")
    oldest_counted = await in_window.offset(limit - 1).first().values_list(moment, flat=True)
    if oldest_counted is None:
        return None
    return max(1, math.ceil((oldest_counted + window - now).total_seconds()))


async def check_create_rate(client_id: uuid.UUID, settings: Settings) -> None:
    limit = settings.rate_limit_per_minute
    if wait := await _seconds_to_wait(Task, "created_at", limit, timedelta(minutes=1), client_id=client_id):
        raise RateLimited(
            f"Rate limit: at most {limit} tasks a minute; try again in {wait} s", retry_after=wait
        )


async def create_rate(client_id: uuid.UUID, settings: Settings) -> RateLimitOut:
    """Where the client stands against the create limit: the creations of the last minute, as
    `check_create_rate` counts them (at most `limit` of them, newest first)."""
    limit, window, now = settings.rate_limit_per_minute, timedelta(minutes=1), utcnow()
    in_window = Task.filter(client_id=client_id, created_at__gte=now - window).order_by("-created_at")
    moments = await in_window.limit(limit).values_list("created_at", flat=True)
    resets = math.ceil((moments[-1] + window - now).total_seconds()) if moments else 0
    return RateLimitOut(
        per_minute=limit, remaining=max(0, limit - len(moments)), resets_in_seconds=max(0, resets)
    )


async def check_login_allowed(login: str, settings: Settings) -> None:
    """Checked before the password, so that the right one is refused too: the throttle stops guessing."""
    window = settings.login_failure_window
    limit = settings.login_max_failures
    if wait := await _seconds_to_wait(LoginFailure, "failed_at", limit, window, login=login_key(login)):
        raise RateLimited(f"Too many failed logins; try again in {wait} s", retry_after=wait)


async def record_login_failure(login: str, settings: Settings) -> None:
    """Counts one failure (for unknown logins too, so the throttle says nothing about who exists)."""
    now = utcnow()
    await LoginFailure.create(login=login_key(login), failed_at=now)
    # Rows past the window count for nothing: pruning here keeps the table small without a job.
    await LoginFailure.filter(failed_at__lt=now - settings.login_failure_window).delete()
