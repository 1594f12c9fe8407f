"""How a call to Higgsfield can fail: `UpstreamTransient` (try again later: network, timeouts,
408, 429, 5xx, the concurrency cap) or `UpstreamPermanent` (other 4xx, malformed answers)."""


class UpstreamError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class UpstreamTransient(UpstreamError):
    """Worth retrying. `maybe_delivered` is True when the request may have reached Higgsfield
    (the answer was lost), which matters for calls that cost money."""

    def __init__(self, message: str, *, status_code: int | None = None, maybe_delivered: bool = False):
        super().__init__(message, status_code=status_code)
        self.maybe_delivered = maybe_delivered


class ConcurrencyCapReached(UpstreamTransient):
    """Higgsfield's 400 for too many jobs of the account at once: backpressure, not failure."""


class UpstreamPermanent(UpstreamError):
    pass


class AccountRefused(UpstreamPermanent):
    """Higgsfield refused the account itself (401: its key or secret; 403: no access or no
    credits): the account is paused, and a task refused so was not taken and may go to another."""


class CancelRefused(UpstreamPermanent):
    """Higgsfield would not cancel the job: it has started (or its API cannot cancel at all)."""
