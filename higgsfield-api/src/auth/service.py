"""Clients, their credentials and API keys."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from src.auth import limits
from src.blobs import BlobStore
from src.core import security
from src.core.clock import utcnow
from src.core.config import Settings
from src.core.errors import Conflict, NotFound, Unauthorized
from src.db.models import ApiKey, Client
from src.db.models.clients import login_key
from src.tasks import transitions

logger = logging.getLogger(__name__)

INVALID_LOGIN = "Invalid login or password"
INVALID_KEY = "Missing or invalid API key"
# last_used_at is a hint for humans; writing it on every request would double the cost of a read.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class IssuedCredentials:
    client_id: uuid.UUID
    login: str
    api_key: str
    webhook_secret: str


async def register(login: str, password: str) -> IssuedCredentials:
    if await Client.filter(login_key=login_key(login)).exists():
        raise Conflict(f"The login {login!r} is already taken")
    password_hash = await security.hash_password(password)
    api_key = security.new_api_key()
    try:
        async with in_transaction():
            client = await Client.create(
                login=login, password_hash=password_hash, webhook_secret=security.new_webhook_secret()
            )
            await ApiKey.create(client=client, key_hash=security.hash_api_key(api_key))
    except IntegrityError as exc:  # a concurrent registration of the same login won the race
        raise Conflict(f"The login {login!r} is already taken") from exc
    return IssuedCredentials(client.id, client.login, api_key, client.webhook_secret)


async def login(login: str, password: str, settings: Settings) -> IssuedCredentials:
    """A new key for the right password; a disabled client fails like a wrong password. A success
    leaves the failures counted so far in place: the throttle counts failures per window."""
    await limits.check_login_allowed(login, settings)
    client = await Client.get_or_none(login_key=login_key(login), disabled_at=None)
    ok = await security.verify_password(client.password_hash if client else None, password)
    if client is None or not ok:
        await limits.record_login_failure(login, settings)
        raise Unauthorized(INVALID_LOGIN)
    api_key = security.new_api_key()
    await ApiKey.create(client=client, key_hash=security.hash_api_key(api_key))
    return IssuedCredentials(client.id, client.login, api_key, client.webhook_secret)


async def authenticate(api_key: str | None) -> uuid.UUID:
    """The id of the client owning this key: one indexed query (a SHA-256, never a slow hash),
    and a write at most once a minute."""
    if not api_key:
        raise Unauthorized(INVALID_KEY)
    keys = await ApiKey.filter(
        key_hash=security.hash_api_key(api_key), revoked_at=None, client__disabled_at=None
    ).values("id", "client_id", "last_used_at")
    if not keys:
        raise Unauthorized(INVALID_KEY)
    await touch_key(keys[0])
    return keys[0]["client_id"]


async def touch_key(key: dict[str, Any]) -> None:
    """Records that a key (`{id, last_used_at}` of a live key) is in use, at most once a minute."""
    now = utcnow()
    last_used: datetime | None = key["last_used_at"]
    if last_used is None or now - last_used > LAST_USED_RESOLUTION:
        await ApiKey.filter(id=key["id"]).update(last_used_at=now)


async def revoke_key(api_key: str | None) -> None:
    """Logout: the key it is called with is a 401 from now on (the client's other keys stay)."""
    if not api_key:
        raise Unauthorized(INVALID_KEY)
    await authenticate(api_key)  # an unknown or already revoked key is a 401 here too
    await ApiKey.filter(key_hash=security.hash_api_key(api_key), revoked_at=None).update(revoked_at=utcnow())


async def disable_client(login: str, blobs: BlobStore) -> None:
    """Every key of the client is a 401 from now on, and its tasks not yet sent are canceled;
    calling it again keeps the first `disabled_at` and cancels pending tasks again."""
    ids = await Client.filter(login_key=login_key(login)).values_list("id", flat=True)
    if not ids:
        raise NotFound("No client with this login")
    client_id = ids[0]
    await Client.filter(id=client_id, disabled_at=None).update(disabled_at=utcnow())
    canceled = await transitions.cancel_pending_of(blobs, client_id)
    logger.info("Client %s disabled; %d pending tasks canceled", client_id, canceled)
