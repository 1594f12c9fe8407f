"""Reads on MySQL/MariaDB as server-side prepared statements, on the ORM's own connections.

The ORM sends every statement as text: the driver escapes each parameter into the SQL, the
server parses and plans the statement anew, and the rows come back as text that the driver
parses column by column; around that, Tortoise's `execute_query_dict` adds an exception
translator, a pool wrapper and a second pass over the rows. For the few fixed statements on
every client call (fast_reads), asyncmy can do better: a statement prepared once per
connection (`Connection.prepare`) is then executed with its parameters in binary, the server
does not parse it again, and its rows come back in the binary protocol, decoded in C. Measured
here on a task GET's read: ~125 µs of the service's CPU through the ORM, ~45 µs prepared.

- The connections are the ORM's (`acquire_connection`): its pool, and inside `in_transaction`
  the transaction's connection, so a read sees what the transaction wrote.
- Each connection keeps its statements (a weak map: a connection the pool drops takes them
  along, and the server frees them with its session) for the server session they were
  prepared in: a connection that reconnected in place, or whose read failed, prepares them
  again. There are a dozen or so statements in all (fast_reads builds them once per dialect),
  far below MariaDB's `max_prepared_stmt_count` (16,382) however many connections and workers
  share a server.
- Errors are the ORM's (Tortoise's own translation of the driver's), so callers see one kind.
- Only asyncmy prepares statements; on aiomysql (`MYSQL_DRIVER=aiomysql`) `usable` is False
  and fast_reads reads through the ORM.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

from src.db.orm import mysql_driver_in_use

# connection -> (its server session's id, {sql: prepared statement})
_statements: weakref.WeakKeyDictionary[Any, tuple[int, dict[str, Any]]] = weakref.WeakKeyDictionary()
# sql -> the names of its columns (the same on every connection)
_names: dict[str, tuple[str, ...]] = {}
_fetch: Any = None


def usable(client: Any) -> bool:
    """Whether the ORM client's reads can be prepared: MySQL through asyncmy."""
    return client.capabilities.dialect == "mysql" and mysql_driver_in_use() == "asyncmy"


def _qmarks(sql: str) -> str:
    """`%s` placeholders (the driver's text form, as fast_reads writes them) as `?` (the
    server's). The statements hold no other `%`."""
    if "%%" in sql:
        raise ValueError("a prepared read holds no literal %")
    return sql.replace("%s", "?")


async def _execute(client: Any, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    async with client.acquire_connection() as connection:
        session = connection.thread_id()
        kept = _statements.get(connection)
        if kept is None or kept[0] != session:
            kept = _statements[connection] = (session, {})
        statements = kept[1]
        statement = statements.get(sql)
        try:
            if statement is None:
                statement = statements[sql] = await connection.prepare(_qmarks(sql))
            result = await statement.execute(params)
        except BaseException:
            # Whatever failed (the server, the session, a statement it no longer knows), the
            # next read on this connection starts from a clean slate.
            _statements.pop(connection, None)
            raise
    names = _names.get(sql)
    if names is None:
        names = _names[sql] = tuple(column[0] for column in result.description)
    return [dict(zip(names, row, strict=True)) for row in result.rows]


async def fetch(client: Any, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows as dicts, as the ORM's `execute_query_dict` gives them."""
    global _fetch
    if _fetch is None:
        # Imported here: importing Tortoise's MySQL backend fixes the driver (src/db/orm.py).
        from tortoise.backends.mysql.client import translate_exceptions

        _fetch = translate_exceptions(_execute)
    return await _fetch(client, sql, list(params))
