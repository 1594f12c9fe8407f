"""How a task moves to a final status: every writer goes through `final_fields`.

A final status also makes the client's callback due (the callback job only picks tasks that
have a `callback_url`), and frees the task's lease.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from src.repository.models import FINAL_STATUSES, TaskStatus


def final_fields(status: TaskStatus, now: datetime, **fields: Any) -> dict[str, Any]:
    assert status in FINAL_STATUSES, status  # noqa: S101 - a programming error, not input
    return {
        "status": status,
        "completed_at": now,
        "updated_at": now,
        "callback_due_at": now,
        "lease_owner": None,
        "lease_until": None,
        **fields,
    }
