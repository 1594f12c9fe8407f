"""Python client of the Higgsfield API service (an image-to-video gateway): `Client`, `AsyncClient`
and `verify_callback`."""

from higgsfield_client.callbacks import verify_callback
from higgsfield_client.clients import AsyncClient, Client
from higgsfield_client.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    CallbackVerificationError,
    ConflictError,
    HiggsfieldError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
    ValidationError,
    WaitTimeout,
)
from higgsfield_client.models import FINAL_STATUSES, CallbackState, Me, Output, Page, RateLimit, Task

__all__ = [
    "FINAL_STATUSES",
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "CallbackState",
    "CallbackVerificationError",
    "Client",
    "ConflictError",
    "HiggsfieldError",
    "Me",
    "NotFoundError",
    "Output",
    "Page",
    "PayloadTooLargeError",
    "RateLimit",
    "RateLimitError",
    "ServiceUnavailableError",
    "Task",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "WaitTimeout",
    "verify_callback",
]
