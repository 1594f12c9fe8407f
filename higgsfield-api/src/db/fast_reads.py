# ruff: noqa: S608 - the statements hold fixed identifiers and placeholders; values go as parameters
"""Hand-written SQL for the reads on every client call: the API key, a task, a page of tasks,
and what every new task costs: the client's rate limit, its motion's id, the busy upstream slots.

The ORM builds each statement anew (pypika) and converts rows field by field: measured here,
that was most of a `GET /api/higgsfield/i2v/{id}`. These statements are built once per
dialect and fetch only the columns the API shows; of those, only what the API writes
differently from how it is stored is converted (datetimes, the JSON metadata), with the
models' own converters. The key lookup and the task fetch are one query (a join); no model
objects are made. On a SQLite file they run in the event loop's thread (sqlite_reader), not
through aiosqlite's.

Table and column names come from the models' metadata (`_table`, `_column`), so a renamed
field or table cannot leave a statement behind; tests/test_fast_reads.py checks each read
against its ORM twin on SQLite and MySQL.

Indexes used (EXPLAIN on SQLite and MariaDB): api_keys.key_hash (unique), tasks' primary key,
clients' primary key, tasks (client_id, created_at, id) for pages (read in index order, no
sort) and the rate limit, tasks (status, ...) for the busy slots.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from tortoise import connections
from tortoise.fields import DatetimeField, JSONField
from tortoise.models import Model

from src.db import mysql_reader, sqlite_reader
from src.db.models import PUBLIC_TASK_FIELDS, ApiKey, Client, Motion, Task

TASK_COLUMNS = PUBLIC_TASK_FIELDS


def _utc_datetime(value: str | datetime | None) -> datetime | None:
    """A stored datetime, aware and in UTC, as the ORM gives it back. The ORM's own converter
    parses SQLite's text with a pure-Python ISO 8601 parser: with three datetimes a task, that
    was a fifth of the time of a page of 20; `fromisoformat` is C."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _table(model: type[Model]) -> str:
    return model._meta.db_table


def _column(model: type[Model], field: str) -> str:
    """The column of a model's field (`client_id` for the `client` foreign key's id)."""
    return model._meta.fields_db_projection[field]


class _Dialect:
    """Quoting, placeholders and converters of the default connection's database."""

    def __init__(self, name: str) -> None:
        self.quote = "`" if name == "mysql" else '"'
        self.mark = "%s" if name == "mysql" else "?"
        fields = Task._meta.fields_map
        # Only the columns whose stored form is not what the API writes: the datetimes (text on
        # SQLite) and the JSON metadata. Ids stay text, as the API writes them; public() makes
        # callback_delivered a bool.
        self.conversions: tuple[tuple[str, Callable[[Any], Any]], ...] = tuple(
            (column, _utc_datetime if isinstance(field, DatetimeField) else field.to_python_value)
            for column in TASK_COLUMNS
            if isinstance(field := fields[column], DatetimeField | JSONField)
        )
        self.datetime_to_db = fields["created_at"].to_db_value
        q, m, t, k, c = self.q, self.mark, self.task, self.key, self.client
        self.task_select = ", ".join(f"t.{t(f)} AS {q(f)}" for f in TASK_COLUMNS)
        self.key_select = (
            f"k.{k('id')} AS {q('key_id')}, k.{k('client_id')} AS {q('key_client_id')}, "
            f"k.{k('last_used_at')} AS {q('key_last_used_at')}"
        )
        # Joins the key's client and keeps the key only while neither is revoked nor disabled.
        self.live_key = (
            f"JOIN {self.table(Client)} c ON c.{c('id')} = k.{k('client_id')} "
            f"WHERE k.{k('key_hash')} = {m} AND k.{k('revoked_at')} IS NULL AND c.{c('disabled_at')} IS NULL"
        )

    def q(self, name: str) -> str:
        return f"{self.quote}{name}{self.quote}"

    def table(self, model: type[Model]) -> str:
        return self.q(_table(model))

    def task(self, field: str) -> str:
        return self.q(_column(Task, field))

    def key(self, field: str) -> str:
        return self.q(_column(ApiKey, field))

    def client(self, field: str) -> str:
        return self.q(_column(Client, field))


@cache
def _dialect(name: str) -> _Dialect:
    return _Dialect(name)


@cache
def _key_sql(name: str) -> str:
    d = _dialect(name)
    return f"SELECT {d.key_select} FROM {d.table(ApiKey)} k {d.live_key}"


@cache
def _task_for_key_sql(name: str) -> str:
    d = _dialect(name)
    m, t, k = d.mark, d.task, d.key
    return (
        f"SELECT {d.task_select}, {d.key_select} FROM {d.table(ApiKey)} k "
        f"JOIN {d.table(Task)} t ON t.{t('client_id')} = k.{k('client_id')} AND t.{t('id')} = {m} "
        f"{d.live_key}"
    )


def _client() -> tuple[Any, _Dialect]:
    client = connections.get("default")
    return client, _dialect(client.capabilities.dialect)


async def _rows(client: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """On a SQLite file, read in the loop (sqlite_reader); on MySQL through asyncmy, as a
    prepared statement (mysql_reader); otherwise, or if SQLite would wait, through the ORM."""
    if mysql_reader.usable(client):
        return await mysql_reader.fetch(client, sql, params)
    reader = sqlite_reader.reader_for(client)
    if reader is not None:
        rows = sqlite_reader.fetch(reader, sql, params)
        if rows is not None:
            return rows
    return await client.execute_query_dict(sql, params)


def _key(row: dict[str, Any]) -> dict[str, Any]:
    """The key's columns, taken out of the row."""
    return {
        "id": row.pop("key_id"),
        "client_id": uuid.UUID(str(row.pop("key_client_id"))),
        "last_used_at": _utc_datetime(row.pop("key_last_used_at")),
    }


def _task(row: dict[str, Any], d: _Dialect) -> dict[str, Any]:
    """The row (a fresh dict of the task's columns) converted in place."""
    for column, convert in d.conversions:
        row[column] = convert(row[column])
    return row


async def live_key(key_hash: str) -> dict[str, Any] | None:
    """{id, client_id, last_used_at} of a key that is neither revoked nor of a disabled client."""
    client, _ = _client()
    rows = await _rows(client, _key_sql(client.capabilities.dialect), [key_hash])
    return _key(rows[0]) if rows else None


async def task_for_key(key_hash: str, task_id: uuid.UUID) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(task, key) when the live key's client owns the task; None for a bad key or another's task."""
    client, d = _client()
    sql = _task_for_key_sql(client.capabilities.dialect)
    rows = await _rows(client, sql, [str(task_id), key_hash])
    if not rows:
        return None
    key = _key(rows[0])
    return _task(rows[0], d), key


@cache
def _page_sql(name: str, statuses: int, with_cursor: bool, with_key: bool = False) -> str:
    """A page of one client's tasks: of the client id given (first parameter), or, `with_key`,
    of the live key's client, the key's columns on every row (the key hash is the last parameter
    before the limit)."""
    d = _dialect(name)
    m, t, k = d.mark, d.task, d.key
    where = [] if with_key else [f"t.{t('client_id')} = {m}"]
    if statuses:
        where.append(f"t.{t('status')} IN ({', '.join([m] * statuses)})")
    if with_cursor:
        where.append(f"(t.{t('created_at')} < {m} OR (t.{t('created_at')} = {m} AND t.{t('id')} < {m}))")
    order = f"ORDER BY t.{t('created_at')} DESC, t.{t('id')} DESC LIMIT {m}"
    if not with_key:
        return f"SELECT {d.task_select} FROM {d.table(Task)} t WHERE {' AND '.join(where)} {order}"
    # The key and its client first (one row each, by unique index), then the client's tasks
    # along the (client_id, created_at, id) index, as for a client id given.
    joined = f"JOIN {d.table(Task)} t ON t.{t('client_id')} = k.{k('client_id')}"
    filters = "".join(f" AND {condition}" for condition in where)
    return (
        f"SELECT {d.task_select}, {d.key_select} FROM {d.table(ApiKey)} k {joined} "
        f"{d.live_key}{filters} {order}"
    )


async def task_page(
    client_id: uuid.UUID,
    *,
    statuses: tuple[str, ...],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """A client's tasks newest first (keyset on created_at, id): only `statuses` when given,
    only those past the cursor `after` when given."""
    client, d = _client()
    params: list[Any] = [str(client_id), *statuses]
    if after:
        created_at = d.datetime_to_db(after[0], Task)
        params += [created_at, created_at, str(after[1])]
    sql = _page_sql(client.capabilities.dialect, len(statuses), after is not None)
    rows = await _rows(client, sql, [*params, limit])
    return [_task(row, d) for row in rows]


async def page_for_key(
    key_hash: str,
    *,
    statuses: tuple[str, ...],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """(page, key): `task_page` of the live key's client and the key, in one query; None when
    the key is not live or the page is empty (the caller tells those apart)."""
    client, d = _client()
    params: list[Any] = [*statuses]
    if after:
        created_at = d.datetime_to_db(after[0], Task)
        params += [created_at, created_at, str(after[1])]
    sql = _page_sql(client.capabilities.dialect, len(statuses), after is not None, with_key=True)
    rows = await _rows(client, sql, [key_hash, *params, limit])
    if not rows:
        return None
    key = _key(rows[0])
    for row in rows[1:]:
        _key(row)
    return [_task(row, d) for row in rows], key


@cache
def _nth_newest_sql(name: str) -> str:
    d = _dialect(name)
    q, m, t = d.q, d.mark, d.task
    return (
        f"SELECT {t('created_at')} AS {q('created_at')} FROM {d.table(Task)} "
        f"WHERE {t('client_id')} = {m} AND {t('created_at')} >= {m} "
        f"ORDER BY {t('created_at')} DESC LIMIT 1 OFFSET {m}"
    )


async def nth_newest_creation(client_id: uuid.UUID, since: datetime, n: int) -> datetime | None:
    """When the client's n-th newest task (n from 1) created at `since` or later was created."""
    client, d = _client()
    sql = _nth_newest_sql(client.capabilities.dialect)
    rows = await _rows(client, sql, [str(client_id), d.datetime_to_db(since, Task), n - 1])
    return _utc_datetime(rows[0]["created_at"]) if rows else None


@cache
def _count_busy_sql(name: str, statuses: int) -> str:
    d = _dialect(name)
    q, m, t, tasks = d.q, d.mark, d.task, d.table(Task)
    # Two counts added up, each a range of an index on status; with an OR, SQLite reads every row.
    return (
        f"SELECT (SELECT COUNT(*) FROM {tasks} WHERE {t('status')} IN ({', '.join([m] * statuses)})) "
        f"+ (SELECT COUNT(*) FROM {tasks} WHERE {t('status')} = {m} AND {t('lease_until')} >= {m}) "
        f"AS {q('busy')}"
    )


async def count_busy(statuses: tuple[str, ...], leased_status: str, now: datetime) -> int:
    """Tasks in one of `statuses`, plus those in `leased_status` whose lease runs past `now`."""
    client, d = _client()
    sql = _count_busy_sql(client.capabilities.dialect, len(statuses))
    rows = await _rows(client, sql, [*statuses, leased_status, d.datetime_to_db(now, Task)])
    return int(rows[0]["busy"])


@cache
def _motion_id_sql(name: str) -> str:
    d = _dialect(name)
    q, m = d.q, d.mark
    motion_id, name = q(_column(Motion, "id")), q(_column(Motion, "name"))
    return f"SELECT {motion_id} AS {q('id')} FROM {d.table(Motion)} WHERE {name} = {m}"


async def motion_id(name: str) -> str | None:
    """Higgsfield's id of the motion with this (normalised) name, if the catalog has it."""
    client, _ = _client()
    rows = await _rows(client, _motion_id_sql(client.capabilities.dialect), [name])
    return str(rows[0]["id"]) if rows else None
