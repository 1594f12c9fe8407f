"""The id of the task the code is working on, which the JSON log formatter adds to every line.
Each asyncio task has its own copy, so concurrent reads never see each other's id."""

import uuid
from contextvars import ContextVar

current_task_id: ContextVar[str | None] = ContextVar("current_task_id", default=None)


def working_on(task_id: uuid.UUID | str) -> None:
    current_task_id.set(str(task_id))
