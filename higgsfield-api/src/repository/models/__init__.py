"""All models of the service, in one Tortoise app named `models`."""

from src.repository.models.clients import ApiKey, Client
from src.repository.models.coordination import LoginFailure, WorkerLease
from src.repository.models.motions import Motion
from src.repository.models.tasks import (
    FINAL_STATUSES,
    PUBLIC_STATUSES,
    PUBLIC_TASK_FIELDS,
    UPSTREAM_STATUSES,
    CallbackAttempt,
    IdempotencyKey,
    Task,
    TaskImage,
    TaskStatus,
)

__all__ = [
    "FINAL_STATUSES",
    "PUBLIC_STATUSES",
    "PUBLIC_TASK_FIELDS",
    "UPSTREAM_STATUSES",
    "ApiKey",
    "CallbackAttempt",
    "Client",
    "IdempotencyKey",
    "LoginFailure",
    "Motion",
    "Task",
    "TaskImage",
    "TaskStatus",
    "WorkerLease",
]
