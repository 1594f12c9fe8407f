"""The id of the task the code is working on, for log lines written anywhere below.

Set where one task is handled (an endpoint with a task id, the poller's read of one job set,
a callback delivery); the JSON log formatter adds it to every line written meanwhile. Each
`asyncio` task has its own copy, so concurrent reads never see each other's id.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar

current_task_id: ContextVar[str | None] = ContextVar("current_task_id", default=None)


def working_on(task_id: uuid.UUID | str) -> None:
    """Names the task for the rest of the current asyncio task (or request)."""
    current_task_id.set(str(task_id))
