"""The prepared reads on MySQL/MariaDB (mysql_reader), on a real server: one statement prepared
per connection and reused, the ORM's errors, and a lost server session costing one read only."""

from __future__ import annotations

import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from src.db import mysql_reader, orm
from src.db.models import Task
from src.tasks import service as tasks
from tests.support.app import make_settings, register, running_app
from tests.support.databases import kill_mysql_session
from tests.support.tasks import new_task

PROMPT_OF = "SELECT `prompt` FROM `tasks` WHERE `id` = %s"


async def _prepares(connection) -> int:
    """How many statements this connection's server session has prepared so far."""
    [row] = await connection.execute_query_dict("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'")
    return int(row["Value"])


async def test_reads_are_prepared_only_on_mysql_through_asyncmy(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings):
        expected = not settings.db_is_sqlite and settings.mysql_driver == "asyncmy"
        assert mysql_reader.usable(connections.get("default")) is expected
        if not settings.db_is_sqlite:
            assert orm.mysql_driver_in_use() == settings.mysql_driver


async def test_a_statement_is_prepared_once_per_connection_and_sees_its_transaction(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        if not mysql_reader.usable(connections.get("default")):
            pytest.skip("reads are prepared on MySQL/MariaDB through asyncmy only")
        state["jobs"].scheduler.pause()
        client_id = (await register(client))["client_id"]
        made = [await tasks.create(client_id, new_task(f"prepared-{n}"), state["blobs"]) for n in range(3)]
        async with in_transaction() as connection:
            before = await _prepares(connection)
            for task in made:
                rows = await mysql_reader.fetch(connection, PROMPT_OF, [str(task["id"])])
                assert rows == [{"prompt": task["prompt"]}]
            assert await _prepares(connection) == before + 1  # three reads, one PREPARE
            # Inside a transaction the read is on the transaction's connection: it sees its writes.
            await Task.filter(id=made[0]["id"]).using_db(connection).update(prompt="changed")
            rows = await mysql_reader.fetch(connection, PROMPT_OF, [str(made[0]["id"])])
            assert rows == [{"prompt": "changed"}]
            assert await _prepares(connection) == before + 1


async def test_errors_are_the_orms_and_a_lost_session_costs_one_read(db_url, fake):
    # One pooled connection: the read after the KILL is on the killed session.
    one_connection = (
        db_url if db_url.startswith("sqlite") else f"{db_url}{'&' if '?' in db_url else '?'}maxsize=1"
    )
    settings = make_settings(one_connection, fake.url)
    async with running_app(settings) as (state, client):
        orm_client = connections.get("default")
        if not mysql_reader.usable(orm_client):
            pytest.skip("reads are prepared on MySQL/MariaDB through asyncmy only")
        state["jobs"].scheduler.pause()
        client_id = (await register(client))["client_id"]
        task = await tasks.create(client_id, new_task("survives"), state["blobs"])
        with pytest.raises(OperationalError):
            await mysql_reader.fetch(orm_client, "SELECT `x` FROM `no_such_table` WHERE `id` = %s", [1])
        assert await mysql_reader.fetch(orm_client, PROMPT_OF, [str(task["id"])]) == [{"prompt": "survives"}]
        # The server ends the session under the pooled connection (a restart, a timeout, a KILL).
        async with orm_client.acquire_connection() as connection:
            session = connection.thread_id()
        kill_mysql_session(db_url, session)
        with pytest.raises(OperationalError):
            await mysql_reader.fetch(orm_client, PROMPT_OF, [str(task["id"])])
        # The next read prepares again, on a live session.
        assert await mysql_reader.fetch(orm_client, PROMPT_OF, [str(task["id"])]) == [{"prompt": "survives"}]
        async with orm_client.acquire_connection() as connection:
            assert connection.thread_id() != session
