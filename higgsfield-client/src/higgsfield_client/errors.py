"""The exceptions: the service's refusals (`ApiError` and one subclass per status a client acts on),
a wait that ran out of time, and a callback that does not prove itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from higgsfield_client.models import Task


class HiggsfieldError(Exception):
    """The base of every exception this package raises itself (network errors stay httpx's)."""


class ApiError(HiggsfieldError):
    """The service answered with an error status. `detail` is the service's own: a string, or for a
    422 the list of FastAPI's validation errors (each with `loc`, `msg` and `type`)."""

    def __init__(
        self,
        status_code: int,
        detail: Any,
        *,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.detail = detail
        self.request_id = request_id
        # Seconds the service asked to wait (Retry-After), on a 429 and a 503 worth retrying.
        self.retry_after = retry_after
        super().__init__(f"{status_code}: {describe(detail)}")


class BadRequestError(ApiError):
    """400: the body could not be parsed."""


class AuthenticationError(ApiError):
    """401: a missing, unknown or revoked API key, or a disabled client."""


class NotFoundError(ApiError):
    """404: no such task, or another client's (the same answer)."""


class ConflictError(ApiError):
    """409: the call does not fit the task's state (a cancel of a started task, a retry of one that
    has not ended, an image that is gone), or an Idempotency-Key reused with other fields."""


class PayloadTooLargeError(ApiError):
    """413: the image is larger than the service takes."""


class UnsupportedMediaTypeError(ApiError):
    """415: the image is not a JPEG, PNG or WEBP."""


class ValidationError(ApiError):
    """422: a field breaks its rule; `errors` lists them, `fields` names them."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        return (
            [error for error in self.detail if isinstance(error, dict)]
            if isinstance(self.detail, list)
            else []
        )

    @property
    def fields(self) -> list[str]:
        """The names of the refused fields (the last part of each error's `loc`)."""
        return [str(error["loc"][-1]) for error in self.errors if error.get("loc")]


class RateLimitError(ApiError):
    """429: too many creations this minute (or too many failed logins); wait `retry_after` seconds."""


class ServiceUnavailableError(ApiError):
    """503: try again after `retry_after` seconds (e.g. the motion catalog is not loaded yet)."""


ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: ValidationError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


class WaitTimeout(HiggsfieldError, TimeoutError):
    """`wait()` ran out of time before the task ended; `task` is the last state read."""

    def __init__(self, task: Task, timeout: float) -> None:
        self.task = task
        self.timeout = timeout
        super().__init__(f"task {task.id} is still {task.status} after {timeout:g} s")


class CallbackVerificationError(HiggsfieldError):
    """A callback whose signature, timestamp or headers do not prove it came from the service."""


def describe(detail: Any) -> str:
    """A one-line text of a `detail`: the string itself, or each validation error as `field: msg`."""
    if isinstance(detail, list):
        parts = []
        for error in detail:
            if isinstance(error, dict):
                where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
                parts.append(f"{where}: {error.get('msg', error)}")
            else:
                parts.append(str(error))
        return "; ".join(parts)
    return str(detail)
