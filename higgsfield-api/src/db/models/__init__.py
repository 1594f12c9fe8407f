"""All models of the service, in one Tortoise app named `models`."""

from src.db.models.clients import ApiKey, Client
from src.db.models.coordination import DispatchState, LoginFailure, WorkerLease
from src.db.models.motions import Motion
from src.db.models.tasks import (
    FINAL_STATUSES,
    UPSTREAM_STATUSES,
    CallbackAttempt,
    IdempotencyKey,
    Task,
    TaskImage,
    TaskStatus,
)

__all__ = [
    "FINAL_STATUSES",
    "UPSTREAM_STATUSES",
    "ApiKey",
    "CallbackAttempt",
    "Client",
    "DispatchState",
    "IdempotencyKey",
    "LoginFailure",
    "Motion",
    "Task",
    "TaskImage",
    "TaskStatus",
    "WorkerLease",
]
