"""Domain errors. Services raise these; `src/web/error_handlers.py` turns them into answers."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = {"Retry-After": str(retry_after)} if retry_after else None


class Unauthorized(DomainError):
    status_code = 401


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class PayloadTooLarge(DomainError):
    status_code = 413


class UnsupportedMediaType(DomainError):
    status_code = 415


class InvalidField(DomainError):
    """A 422 in FastAPI's validation shape; where the field was (body, query) the web layer says."""

    status_code = 422

    def __init__(self, field: str, detail: str, *, kind: str = "value_error") -> None:
        super().__init__(detail)
        self.field = field
        self.kind = kind


class ServiceUnavailable(DomainError):
    status_code = 503


class RateLimited(DomainError):
    status_code = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)  # seconds, sent as Retry-After
        super().__init__(detail, retry_after=self.retry_after)
