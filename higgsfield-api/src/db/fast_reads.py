# ruff: noqa: S608 - the statements hold fixed names and placeholders; values go as parameters
"""Named SQL for the reads where one statement replaces several ORM reads; everything else reads
through the ORM.

- TASK_FOR_KEY (`GET /i2v/{id}`, the call clients make most): the caller's key and the task in
  one join, where the ORM would read the key, then the task.
- PAGE_FOR_KEY (`GET /i2v/`): the key and a page of its client's tasks, newest first, in one join.
- BUSY_BY_ACCOUNT (every dispatch round): the busy upstream slots of each account as two grouped
  counts, each a range of an index on status (with an OR, SQLite reads every row).

They run on the ORM's own connection (`execute_query_dict`), values as parameters, and their rows
come back as the ORM's `.values()` gives them: tests/test_fast_reads.py checks each read against
the same read through the ORM, on SQLite and MySQL.

Indexes used: api_keys.key_hash (unique), the primary keys, tasks (client_id, created_at, id)
for pages (read in index order, no sort), tasks (status, ...) for the busy slots.
"""

import json
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

from tortoise import connections

# The task's columns as one JSON object that the database builds (`json_object` on SQLite,
# MariaDB and MySQL): one value to decode per row instead of a value (and, for MySQL's text
# protocol, a column description) per column. `metadata` is JSON text of its own, beside it.
ROW = "json_object({pairs}, 'key_id', k.id, 'key_client_id', k.client_id, 'key_last_used_at', k.last_used_at)"
# The key by its hash, while neither it is revoked nor its client disabled.
LIVE_KEY = (
    "JOIN clients c ON c.id = k.client_id "
    "WHERE k.key_hash = ? AND k.revoked_at IS NULL AND c.disabled_at IS NULL"
)

# Parameters: the task's id, the key's hash. {row}: ROW with the task's columns asked for.
TASK_FOR_KEY = (
    f"SELECT {{row}} AS row_json, t.metadata AS metadata FROM api_keys k "
    f"JOIN tasks t ON t.client_id = k.client_id AND t.id = ? {LIVE_KEY}"
)
# Parameters: the key's hash, the statuses (when {statuses}), the cursor's created_at twice and
# id (when {after}), the limit. The key's columns come on every row.
PAGE_FOR_KEY = (
    f"SELECT {{row}} AS row_json, t.metadata AS metadata FROM api_keys k "
    f"JOIN tasks t ON t.client_id = k.client_id {LIVE_KEY}{{statuses}}{{after}} "
    "ORDER BY t.created_at DESC, t.id DESC LIMIT ?"
)
STATUS_IN = " AND t.status IN ({marks})"
AFTER = " AND (t.created_at < ? OR (t.created_at = ? AND t.id < ?))"
# Parameters: the statuses, the leased status, now. An account may come in both halves.
BUSY_BY_ACCOUNT = (
    "SELECT upstream_account AS account, COUNT(*) AS busy FROM tasks WHERE status IN ({marks}) "
    "GROUP BY upstream_account UNION ALL "
    "SELECT upstream_account AS account, COUNT(*) AS busy FROM tasks WHERE status = ? AND lease_until >= ? "
    "GROUP BY upstream_account"
)

# The stored forms that differ from the ORM's: datetimes (text), the ids (text), the flags (0/1).
TASK_DATETIMES = (
    "created_at",
    "updated_at",
    "completed_at",
    "submitted_at",
    "next_attempt_at",
    "output_stored_at",
)
TASK_FLAGS = ("callback_delivered", "enhance_prompt")
TASK_UUIDS = ("id", "retry_of")


def _marks(count: int) -> str:
    return ", ".join(["?"] * count)


@cache
def _row(names: tuple[str, ...]) -> str:
    """ROW for these task columns (JSON numbers and strings: a float would lose digits)."""
    return ROW.format(pairs=", ".join(f"'{name}', t.{name}" for name in names if name != "metadata"))


@cache
def _in_dialect(sql: str, dialect: str) -> str:
    """The statement with the driver's placeholders: `?` on SQLite, `%s` on MySQL."""
    return sql.replace("?", "%s") if dialect == "mysql" else sql


async def _rows(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    connection = connections.get("default")
    return await connection.execute_query_dict(_in_dialect(sql, connection.capabilities.dialect), params)


def _utc(value: str | None) -> datetime | None:
    """A stored datetime, aware and in UTC, as the ORM gives it back."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _split(record: dict[str, Any], names: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(task, key) of a row, each as the ORM's `.values()` gives it."""
    row = json.loads(record["row_json"])
    key = {
        "id": row.pop("key_id"),
        "client_id": uuid.UUID(row.pop("key_client_id")),
        "last_used_at": _utc(row.pop("key_last_used_at")),
    }
    for name in TASK_UUIDS:
        if row.get(name) is not None:
            row[name] = uuid.UUID(row[name])
    for name in TASK_FLAGS:
        if name in row:
            row[name] = bool(row[name])
    for name in TASK_DATETIMES:
        if name in row:
            row[name] = _utc(row[name])
    if "metadata" in names:
        metadata = record["metadata"]
        row["metadata"] = json.loads(metadata) if isinstance(metadata, str | bytes) else metadata
    return {name: row[name] for name in names}, key


async def task_for_key(
    key_hash: str, task_id: uuid.UUID, columns: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(task, key) when the live key's client owns the task; None for a bad key or another's task."""
    rows = await _rows(TASK_FOR_KEY.format(row=_row(columns)), [str(task_id), key_hash])
    return _split(rows[0], columns) if rows else None


async def page_for_key(
    key_hash: str,
    columns: tuple[str, ...],
    *,
    statuses: tuple[str, ...],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """(page, key): the live key's client's tasks newest first (keyset on created_at, id), only
    `statuses` when given, only those past the cursor `after` when given; None when the key is
    not live or the page is empty (the caller tells those apart)."""
    sql = PAGE_FOR_KEY.format(
        row=_row(columns),
        statuses=STATUS_IN.format(marks=_marks(len(statuses))) if statuses else "",
        after=AFTER if after else "",
    )
    params: list[Any] = [key_hash, *statuses]
    if after:
        params += [after[0], after[0], str(after[1])]
    rows = await _rows(sql, [*params, limit])
    if not rows:
        return None
    split = [_split(row, columns) for row in rows]
    return [task for task, _key in split], split[0][1]


async def busy_by_account(
    statuses: tuple[str, ...], leased_status: str, now: datetime
) -> dict[str | None, int]:
    """Per account (`upstream_account`), its tasks in one of `statuses`, plus those in `leased_status`
    whose lease runs past `now`."""
    sql = BUSY_BY_ACCOUNT.format(marks=_marks(len(statuses)))
    busy: dict[str | None, int] = {}
    for row in await _rows(sql, [*statuses, leased_status, now]):
        busy[row["account"]] = busy.get(row["account"], 0) + int(row["busy"])
    return busy
