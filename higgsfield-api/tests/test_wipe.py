"""The tests' wipe empties every table of the service: a table it missed would carry one test's
rows (a dispatcher's "Higgsfield is full", say) into the next."""

from __future__ import annotations

import sqlite3

from tests.support import databases


def test_every_table_of_the_schema_is_wiped(tmp_path):
    url = databases.prepare("sqlite", tmp_path)
    with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    service_tables = {name for name in tables if not name.startswith(("sqlite_", "tortoise_"))}
    assert service_tables == set(databases.TABLES)
