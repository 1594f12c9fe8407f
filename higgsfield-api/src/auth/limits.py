"""The limits of API.md: task creations per client and minute, failed logins per login.

Both are counted from rows in the shared database (the tasks themselves, `login_failures`),
so they hold across worker processes and replicas without any other store.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from src.core.clock import utcnow
from src.core.config import Settings
from src.core.errors import RateLimited
from src.db.models import LoginFailure, Task
from src.db.models.clients import login_key

CREATE_WINDOW = timedelta(minutes=1)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


async def check_create_rate(client_id: uuid.UUID, settings: Settings) -> None:
    """Raises RateLimited when the client created `rate_limit_per_minute` tasks in the last minute.

    One indexed query on (client_id, created_at): the limit-th newest creation of the window.
    While it exists the client is at its limit; once it leaves the window, one more fits.
    """
    now = utcnow()
    limit = settings.rate_limit_per_minute
    oldest_counted = (
        await Task.filter(client_id=client_id, created_at__gte=now - CREATE_WINDOW)
        .order_by("-created_at")
        .offset(limit - 1)
        .limit(1)
        .values_list("created_at", flat=True)
    )
    if oldest_counted:
        wait = _seconds_until(oldest_counted[0] + CREATE_WINDOW, now)
        raise RateLimited(
            f"Rate limit: at most {limit} tasks a minute; try again in {wait} s", retry_after=wait
        )


async def check_login_allowed(login: str, settings: Settings) -> None:
    """Raises RateLimited after `login_max_failures` failures for this login within the window.

    Checked before the password, so the right password is refused too until the window passes:
    otherwise the throttle would only slow the guessing down, not stop it.
    """
    now = utcnow()
    window = settings.login_failure_window
    rows = (
        await LoginFailure.filter(login=login_key(login), failed_at__gte=now - window)
        .order_by("-failed_at")
        .offset(settings.login_max_failures - 1)
        .limit(1)
        .values_list("failed_at", flat=True)
    )
    if rows:
        wait = _seconds_until(rows[0] + window, now)
        raise RateLimited(f"Too many failed logins; try again in {wait} s", retry_after=wait)


async def record_login_failure(login: str, settings: Settings) -> None:
    """Counts one failure (for unknown logins too, so the throttle says nothing about who exists)."""
    now = utcnow()
    await LoginFailure.create(login=login_key(login), failed_at=now)
    # Rows past the window count for nothing: pruning here keeps the table small without a job.
    await LoginFailure.filter(failed_at__lt=now - settings.login_failure_window).delete()
