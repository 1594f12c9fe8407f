"""One attempt of a client callback, signed the Standard Webhooks way (https://www.standardwebhooks.com):
an HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}" keyed with the secret after `whsec_`."""

import asyncio
import base64
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass

import httpx

from src.core.security import WEBHOOK_SECRET_PREFIX

USER_AGENT = "higgsfield-api-callbacks/1.0"


@dataclass(frozen=True, slots=True)
class Attempt:
    """The receiver's status (None when it never answered) and why it failed; never a body."""

    status_code: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _failure(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect error"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return "invalid url"
    return f"network error ({type(exc).__name__})"


async def deliver(
    http: httpx.AsyncClient, url: str, secret: str, task_id: uuid.UUID, body: bytes, *, timeout_seconds: float
) -> Attempt:
    """POSTs one signed attempt, without following redirects or reading the answer's body;
    `timeout_seconds` bounds the whole attempt, so a receiver that trickles bytes cannot hold a worker."""
    # A task has one final event: its id names the event on every retry, so receivers drop duplicates.
    # The timestamp is the attempt's own, so receivers can refuse replays.
    msg_id = f"msg_{task_id}"
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
    try:
        async with asyncio.timeout(timeout_seconds):
            request = http.build_request("POST", url, content=body, headers=headers, timeout=timeout_seconds)
            response = await http.send(request, stream=True, follow_redirects=False)
            await response.aclose()
    except (httpx.HTTPError, httpx.InvalidURL, TimeoutError) as exc:
        return Attempt(None, _failure(exc))
    status = response.status_code
    if 300 <= status < 400:
        return Attempt(status, "redirect not followed")
    return Attempt(status, None if 200 <= status < 300 else f"HTTP {status}")
