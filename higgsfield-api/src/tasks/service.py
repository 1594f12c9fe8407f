"""Image-to-video tasks as a client sees them: create, read, list, cancel."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from src.auth import limits
from src.auth import service as auth
from src.blobs import BlobStore
from src.callbacks import destinations
from src.core import security
from src.core.clock import utcnow
from src.core.config import Settings
from src.core.errors import Conflict, InvalidField, NotFound, ServiceUnavailable
from src.db import fast_reads
from src.db.models import FINAL_STATUSES, Client, Task, TaskStatus
from src.motions import service as motions
from src.outputs import schemas as outputs
from src.tasks import idempotency as idempotency_keys
from src.tasks import image_store, transitions
from src.tasks.schemas import ANSWER_FIELDS, PUBLIC_COLUMNS, TaskFields, render_task
from src.upstream.errors import CancelRefused, UpstreamPermanent, UpstreamTransient

if TYPE_CHECKING:
    from src.upstream.accounts import Accounts

CANCEL_RETRY_AFTER = 5


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task about to be stored: its fields and its image, as bytes to keep until Higgsfield has
    them, or (`image` None) as the URL of the file Higgsfield already has; `retry_of` for a retry."""

    fields: TaskFields
    image: bytes | None
    image_content_type: str | None
    image_url: str | None = None
    retry_of: uuid.UUID | None = None


async def check_choices(fields: TaskFields, settings: Settings) -> None:
    """What the fields' own rules cannot tell: the model offered by the API generation in use, and
    where the callback may point. The same for a create and a retry."""
    model = fields.model
    if model not in settings.offered_models:
        raise InvalidField(
            "model",
            f"The model {model!r} is not offered with Higgsfield's {settings.hf_api_version} API "
            f"here; allowed: {', '.join(settings.offered_models)}",
        )
    allow_private = settings.callback_allow_private
    await destinations.refuse_unreachable(fields.callback_url, "callback_url", allow_private=allow_private)


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A task row (from `.values(*PUBLIC_COLUMNS)`) as the API shows it (TaskOut)."""
    url = row["callback_url"]
    shown = {
        **row,
        "status": TaskStatus.PENDING.value if row["status"] == TaskStatus.SUBMITTING else row["status"],
        "callback": {
            "url": url,
            "delivered": bool(row["callback_delivered"]),
            "attempts": row["callback_attempts"],
            "last_status": row["callback_last_status"],
            "error": row["callback_error"],
        }
        if url
        else None,
        "output": outputs.shown(row),
    }
    return {name: shown[name] for name in ANSWER_FIELDS}


async def create(
    client_id: uuid.UUID, new: NewTask, blobs: BlobStore, *, idempotency: tuple[str, str, int] | None = None
) -> dict[str, Any]:
    """Stores a pending task, its image first (a committed task always has it), and returns its answer;
    with `idempotency` = (key, fingerprint, status code), that answer is kept for replays too.
    Without a `callback_url`, the task takes the client's default callback URL as it is now."""
    motion, motion_id = await motions.resolve(new.fields.motion)
    callback_url = new.fields.callback_url
    if callback_url is None:
        callback_url = await Client.filter(id=client_id).first().values_list("callback_url", flat=True)
    task_id = uuid.uuid4()
    image_key = None if new.image is None else await image_store.save(blobs, task_id, new.image)
    row = {
        **dict(new.fields),
        "id": task_id,
        "client_id": client_id,
        "motion": motion,
        "motion_id": motion_id,
        "callback_url": callback_url,
        "image_key": image_key,
        "image_type": new.image_content_type,
        "image_url": new.image_url,
        "retry_of": new.retry_of,
        "next_attempt_at": utcnow(),
    }
    try:
        # The answer is rendered inside the transaction: a task that could not be answered is
        # never committed (and so never sent to Higgsfield).
        async with in_transaction():
            task = await Task.create(status=transitions.INITIAL_STATUS, **row)
            answer = render_task(public({field: getattr(task, field) for field in PUBLIC_COLUMNS}))
            if idempotency is not None:
                key, print_, status_code = idempotency
                await idempotency_keys.remember(client_id, key, print_, task.id, status_code, answer)
    except BaseException:
        if image_key is not None:
            await blobs.delete([image_key])  # no row names it (a crash here leaves it to the sweep)
        raise
    return answer


async def take(
    client_id: uuid.UUID,
    build: Callable[[], Awaitable[NewTask]],
    settings: Settings,
    blobs: BlobStore,
    key: tuple[str, str] | None,
    *,
    created_status: int,
) -> tuple[int, dict[str, Any], bool]:
    """(status code, body, replayed): a new task, or the first answer replayed for a known Idempotency-Key
    (`key` = the key and the request's fingerprint). Otherwise `build` makes the task (its checks
    may refuse it), which counts against the client's rate limit; `created_status` is kept for replays."""
    idempotency = None
    if key is not None:
        key, print_ = key
        if first := await idempotency_keys.replay(client_id, key, print_, settings.idempotency_ttl):
            return *first, True
        idempotency = (key, print_, created_status)
    new = await build()
    await limits.check_create_rate(client_id, settings)
    try:
        body = await create(client_id, new, blobs, idempotency=idempotency)
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as it did.
        if idempotency is None:
            raise
        first = await idempotency_keys.replay(client_id, key, print_, settings.idempotency_ttl)
        if first is None:
            raise
        return *first, True
    return created_status, body, False


async def get(client_id: uuid.UUID, task_id: uuid.UUID) -> dict[str, Any]:
    rows = await Task.filter(id=task_id, client_id=client_id).values(*PUBLIC_COLUMNS)
    if not rows:
        raise NotFound("Task not found")
    return public(rows[0])


async def get_with_key(api_key: str | None, task_id: uuid.UUID) -> dict[str, Any]:
    """The key check and the task in one query; only when that finds nothing does a second one tell
    a bad key (401) from a task that is not the caller's (404)."""
    if api_key:
        found = await fast_reads.task_for_key(security.hash_api_key(api_key), task_id, PUBLIC_COLUMNS)
        if found:
            task, key = found
            await auth.touch_key(key)
            return public(task)
    await auth.authenticate(api_key)
    raise NotFound("Task not found")


def _encode_cursor(created_at: datetime, task_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{task_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created_at, task_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created_at), uuid.UUID(task_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidField("cursor", "Invalid cursor; pass next_cursor as returned") from None


def _statuses(status: str | None) -> tuple[str, ...]:
    if status == TaskStatus.PENDING:
        return (TaskStatus.PENDING.value, TaskStatus.SUBMITTING.value)
    return (str(status),) if status else ()


def _page(rows: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """The answer to a list from up to `limit` + 1 rows (one more tells whether a page follows)."""
    next_cursor = (
        _encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    )
    return {"items": [public(row) for row in rows[:limit]], "next_cursor": next_cursor}


async def list_with_key(
    api_key: str | None, *, status: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """Newest first, keyset-paginated on (created_at, id); the key check and the page in one query, as
    `get_with_key`."""
    after = _decode_cursor(cursor) if cursor else None
    if api_key:
        found = await fast_reads.page_for_key(
            security.hash_api_key(api_key),
            PUBLIC_COLUMNS,
            statuses=_statuses(status),
            after=after,
            limit=limit + 1,
        )
        if found:
            rows, key = found
            await auth.touch_key(key)
            return _page(rows, limit)
    await auth.authenticate(api_key)
    return _page([], limit)


async def cancel(
    client_id: uuid.UUID, task_id: uuid.UUID, accounts: Accounts, blobs: BlobStore
) -> dict[str, Any]:
    """A task still pending here is canceled and never sent; one Higgsfield has ends `canceled` only
    once Higgsfield accepted its cancel (v2, before it starts). Anything else is a Conflict."""
    if await transitions.cancel_pending(blobs, client_id, task_id):
        return await get(client_id, task_id)
    rows = await Task.filter(id=task_id, client_id=client_id).values(
        "status", "upstream_job_id", "upstream_api", "upstream_account"
    )
    if not rows:
        raise NotFound("Task not found")
    status, request_id, version = rows[0]["status"], rows[0]["upstream_job_id"], rows[0]["upstream_api"]
    if status in FINAL_STATUSES:
        raise Conflict(f"The task is already {status}")
    if not request_id:
        raise Conflict("The task is being sent to Higgsfield right now; try again in a few seconds")
    upstream = accounts.of(rows[0]["upstream_account"], version)  # the account it was sent with
    if upstream is None:
        raise Conflict("The Higgsfield account this task was sent with is no longer configured")
    try:
        await upstream.cancel(request_id)
    except CancelRefused as exc:
        if exc.status_code is None:
            raise Conflict("Higgsfield already has this task and its API cannot cancel it") from None
        raise Conflict("Higgsfield has already started this task; it can no longer be canceled") from None
    except UpstreamTransient:
        raise ServiceUnavailable(
            "Higgsfield could not be reached to cancel the task; try again", retry_after=CANCEL_RETRY_AFTER
        ) from None
    except UpstreamPermanent as exc:
        raise Conflict(f"Higgsfield refused to cancel the task: {exc}") from None
    await transitions.cancel_upstream(client_id, task_id)
    return await get(client_id, task_id)
