"""Clients, their credentials and API keys."""

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from src.auth import limits
from src.auth.schemas import IssuedCredentialsOut, MeOut
from src.blobs import BlobStore
from src.callbacks import destinations
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


async def register(login: str, password: str) -> IssuedCredentialsOut:
    if await Client.filter(login_key=login_key(login)).exists():
        raise Conflict(f"The login {login!r} is already taken")
    password_hash = await security.hash_password(password)
    try:
        async with in_transaction():
            client = await Client.create(
                login=login, password_hash=password_hash, webhook_secret=security.new_webhook_secret()
            )
            return await _issue_key(client)
    except IntegrityError as exc:  # a concurrent registration of the same login won the race
        raise Conflict(f"The login {login!r} is already taken") from exc


async def login(login: str, password: str, settings: Settings) -> IssuedCredentialsOut:
    """A new key for the right password; a disabled client fails like a wrong password. A success
    leaves the failures counted so far in place: the throttle counts failures per window."""
    await limits.check_login_allowed(login, settings)
    client = await Client.get_or_none(login_key=login_key(login), disabled_at=None)
    ok = await security.verify_password(client.password_hash if client else None, password)
    if client is None or not ok:
        await limits.record_login_failure(login, settings)
        raise Unauthorized(INVALID_LOGIN)
    return await _issue_key(client)


async def _issue_key(client: Client) -> IssuedCredentialsOut:
    """A new API key, of which only the hash is kept: the answer shows it once."""
    api_key = security.new_api_key()
    await ApiKey.create(client=client, key_hash=security.hash_api_key(api_key))
    return IssuedCredentialsOut(
        client_id=client.id, login=client.login, api_key=api_key, webhook_secret=client.webhook_secret
    )


async def live_key(api_key: str | None) -> dict[str, Any]:
    """The key's `{id, client_id, last_used_at, created_at}` while it is live: one indexed query (a
    SHA-256, never a slow hash), and a write at most once a minute."""
    if not api_key:
        raise Unauthorized(INVALID_KEY)
    live = ApiKey.filter(key_hash=security.hash_api_key(api_key), revoked_at=None, client__disabled_at=None)
    keys = await live.values("id", "client_id", "last_used_at", "created_at")
    if not keys:
        raise Unauthorized(INVALID_KEY)
    await touch_key(keys[0])
    return keys[0]


async def authenticate(api_key: str | None) -> uuid.UUID:
    """The id of the client owning this key (see `live_key`)."""
    return (await live_key(api_key))["client_id"]


async def me(key: dict[str, Any], settings: Settings) -> MeOut:
    """The client of a live key (from `live_key`) as GET /api/auth/me shows it."""
    client = await Client.get(id=key["client_id"])
    return MeOut(
        client_id=client.id,
        login=client.login,
        created_at=client.created_at,
        callback_url=client.callback_url,
        key_issued_at=key["created_at"],
        rate_limit=await limits.create_rate(client.id, settings),
    )


async def set_default_callback(key: dict[str, Any], url: str, settings: Settings) -> MeOut:
    """The callback URL of the client's tasks created without one, checked as a create's `callback_url`."""
    await destinations.refuse_unreachable(url, "url", allow_private=settings.callback_allow_private)
    await Client.filter(id=key["client_id"]).update(callback_url=url)
    return await me(key, settings)


async def clear_default_callback(client_id: uuid.UUID) -> None:
    await Client.filter(id=client_id).update(callback_url=None)


async def touch_key(key: dict[str, Any]) -> None:
    """Records that a key (`{id, last_used_at}` of a live key) is in use, at most once a minute."""
    now = utcnow()
    last_used: datetime | None = key["last_used_at"]
    if last_used is None or now - last_used > LAST_USED_RESOLUTION:
        await ApiKey.filter(id=key["id"]).update(last_used_at=now)


async def revoke_key(api_key: str | None) -> None:
    """Logout: the key it is called with is a 401 from now on (the client's other keys stay)."""
    await authenticate(api_key)  # a missing, unknown or already revoked key is a 401 here too
    await ApiKey.filter(key_hash=security.hash_api_key(api_key), revoked_at=None).update(revoked_at=utcnow())


async def disable_client(login: str, blobs: BlobStore) -> None:
    """Every key of the client is a 401 from now on, and its tasks not yet sent are canceled;
    calling it again keeps the first `disabled_at` and cancels pending tasks again."""
    client_id = await Client.filter(login_key=login_key(login)).first().values_list("id", flat=True)
    if client_id is None:
        raise NotFound("No client with this login")
    await Client.filter(id=client_id, disabled_at=None).update(disabled_at=utcnow())
    canceled = await transitions.cancel_pending_of(blobs, client_id)
    logger.info("Client %s disabled; %d pending tasks canceled", client_id, canceled)
