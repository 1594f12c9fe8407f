"""The MySQL/MariaDB driver under Tortoise: asyncmy by default, aiomysql with MYSQL_DRIVER."""

from __future__ import annotations

import pytest

from src.db import orm
from tests.support.app import make_settings, running_app


async def test_the_mysql_backend_runs_on_the_configured_driver(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings):
        if settings.db_is_sqlite:
            return
        assert orm.mysql_driver_in_use() == settings.mysql_driver


def test_a_process_keeps_the_driver_it_loaded():
    loaded = orm.mysql_driver_in_use()
    if loaded is None:
        pytest.skip("the MySQL backend is not loaded in this process (no TEST_MYSQL_URL)")
    orm.use_mysql_driver(loaded)  # the same: nothing to do
    other = "aiomysql" if loaded == "asyncmy" else "asyncmy"
    with pytest.raises(RuntimeError, match="already uses"):
        orm.use_mysql_driver(other)
