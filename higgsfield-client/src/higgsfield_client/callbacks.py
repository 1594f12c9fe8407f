"""Verifying a task callback the service POSTed: Standard Webhooks (https://www.standardwebhooks.com),
an HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}" keyed with the client's webhook secret."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from higgsfield_client.errors import CallbackVerificationError
from higgsfield_client.models import Task

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every webhook secret, not a secret
DEFAULT_TOLERANCE_SECONDS = 300


def verify_callback(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> Task:
    """Checks a callback and returns the task it carries; raises CallbackVerificationError otherwise.

    `headers` are the request's (any case of names), `body` its raw bytes as received, before any
    JSON parsing, `secret` the client's `webhook_secret` (`whsec_...`). The signature is compared in
    constant time; a `webhook-timestamp` more than `tolerance` seconds from `now` (default: the
    clock) is refused, so a recorded callback cannot be replayed later."""
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        msg_id, timestamp, signatures = (
            lowered["webhook-id"],
            lowered["webhook-timestamp"],
            lowered["webhook-signature"],
        )
    except KeyError as missing:
        raise CallbackVerificationError(f"the {missing.args[0]} header is missing") from None
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise CallbackVerificationError("webhook-timestamp is not a number of seconds") from None
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        raise CallbackVerificationError("webhook-timestamp is outside the tolerance: too old or too new")
    raw = body.encode() if isinstance(body, str) else bytes(body)
    expected = _signature(secret, msg_id, sent_at, raw)
    # Every "v1,<base64>" candidate is compared (a sender may list several, space-separated).
    matched = False
    for candidate in signatures.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            matched = True
    if not matched:
        raise CallbackVerificationError("the signature does not match")
    try:
        return Task.from_json(json.loads(raw))
    except (ValueError, KeyError, TypeError) as exc:
        raise CallbackVerificationError(f"the body is not a task ({type(exc).__name__})") from None


def _signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> bytes:
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("secret: the webhook_secret given at registration (whsec_<base64>)") from None
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest)
