"""All models of the service, in one Tortoise app named `models`."""

from src.repository.models.clients import ApiKey, Client
from src.repository.models.motions import Motion
from src.repository.models.tasks import (
    FINAL_STATUSES,
    PUBLIC_STATUSES,
    UPSTREAM_STATUSES,
    Task,
    TaskImage,
    TaskStatus,
)

__all__ = [
    "FINAL_STATUSES",
    "PUBLIC_STATUSES",
    "UPSTREAM_STATUSES",
    "ApiKey",
    "Client",
    "Motion",
    "Task",
    "TaskImage",
    "TaskStatus",
]
