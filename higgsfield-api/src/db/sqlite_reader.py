"""Reads of a SQLite file straight from the event loop, beside the ORM's connection.

The ORM talks to SQLite through aiosqlite: every statement is handed to a thread and its
result handed back through the loop, which costs about 150 µs a statement here, while the
indexed lookups of the hot reads (a key, a task, a page of tasks) take 5 to 20 µs in SQLite
itself. So those reads run on a second, plain `sqlite3` connection of the same file, in the
loop's thread:

- The database is in WAL mode (Tortoise sets it): a reader never waits for the writer, and
  each statement sees every transaction committed before it started, so a task is readable as
  soon as its creation has answered.
- The connection is `query_only` and in autocommit mode: each statement is its own short
  read transaction, over once its rows are fetched, so it never holds a snapshot open.
- It never waits: `busy_timeout` is 0. In the rare cases where WAL makes a reader wait (a
  crashed writer's WAL being recovered) the read answers None and the caller goes through the
  ORM instead, which may wait off the loop.

One connection per file and per thread (a test may run apps on loops in other threads); an
in-memory database has no file to share, so it has no reader and its reads use the ORM.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

_local = threading.local()


def _connections() -> dict[str, sqlite3.Connection]:
    connections = getattr(_local, "connections", None)
    if connections is None:
        connections = _local.connections = {}
    return connections


def _open(filename: str) -> sqlite3.Connection:
    connection = sqlite3.connect(filename, isolation_level=None, check_same_thread=False, timeout=0)
    connection.execute("PRAGMA query_only = ON")
    return connection


def _in_memory(filename: str) -> bool:
    return filename == ":memory:" or filename.startswith("file::memory:") or "mode=memory" in filename


def reader_for(client: Any) -> sqlite3.Connection | None:
    """The loop-side connection of the ORM client's SQLite file; None for any other database."""
    filename = getattr(client, "filename", None)
    if client.capabilities.dialect != "sqlite" or not filename or _in_memory(filename):
        return None
    connections = _connections()
    connection = connections.get(filename)
    if connection is None:
        connection = connections[filename] = _open(filename)
    return connection


def fetch(connection: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[dict[str, Any]] | None:
    """The rows as dicts (as the ORM's `execute_query_dict` gives them); None when SQLite would
    make the loop wait, or fails: the caller then asks the ORM, which waits off the loop and
    raises its own errors."""
    try:
        cursor = connection.execute(sql, params)
        rows = cursor.fetchall()
    except sqlite3.OperationalError:
        return None
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in rows]


def close_all() -> None:
    """Closes this thread's readers (at shutdown; the next read opens them again)."""
    connections = _connections()
    while connections:
        _, connection = connections.popitem()
        connection.close()
