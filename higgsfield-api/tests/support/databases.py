"""Test databases: SQLite always, MariaDB/MySQL too when TEST_MYSQL_URL is set.

The schema is made once per session by the service's own migrations (so they are tested
too); each test starts from empty tables, wiped through a plain driver connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pymysql

from src.core.config import Settings
from src.db.orm import tortoise_config

# Every table of the service, children before parents.
TABLES = (
    "callback_attempts",
    "idempotency_keys",
    "task_images",
    "tasks",
    "api_keys",
    "clients",
    "motions",
    "login_failures",
    "worker_leases",
    "dispatch_state",
    "account_states",
)


def mysql_url() -> str | None:
    return os.environ.get("TEST_MYSQL_URL") or None


def _mysql_connect(url: str, *, with_db: bool = True) -> pymysql.Connection:
    parts = urlparse(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=parts.path.lstrip("/") if with_db else None,
        autocommit=True,
        connect_timeout=5,
    )


def kill_mysql_session(url: str, session: int) -> None:
    """Ends a server session from outside, as a server restart or a wait_timeout would."""
    conn = _mysql_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("KILL %s", (session,))
    finally:
        conn.close()


def recreate_mysql(url: str) -> None:
    """Drops and makes again the (disposable) database of a mysql:// URL."""
    name = urlparse(url).path.lstrip("/")
    conn = _mysql_connect(url, with_db=False)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()


def migrate(url: str, target: str | None = None) -> None:
    """Applies the migrations, all of them or up to `target` (e.g. "models.0003_task_indexes")."""
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate as run_migrations

    async def run() -> None:
        try:
            config = tortoise_config(Settings(_env_file=None, database_url=url))
            await run_migrations(config=config, target=target)
        finally:
            await Tortoise.close_connections()

    # In a thread of its own: the caller may already be inside an event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def prepare(kind: str, tmp_dir: Path) -> str:
    """A migrated, empty database of this kind; returns its Tortoise URL."""
    if kind == "sqlite":
        url = f"sqlite://{tmp_dir / 'test.sqlite3'}"
    else:
        url = mysql_url() or ""
        recreate_mysql(url)
    migrate(url)
    return url


def blob_dir(url: str) -> Path:
    """The blob store of a test database (BLOB_DIR): the images belong with the rows."""
    if url.startswith("sqlite"):
        return Path(url.removeprefix("sqlite://")).parent / "blobs"
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"hf-test-blobs-{digest}"


def wipe(url: str) -> None:
    shutil.rmtree(blob_dir(url), ignore_errors=True)
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite://"), timeout=10)
        try:
            for table in TABLES:
                conn.execute(f'DELETE FROM "{table}"')  # noqa: S608 - fixed table names
            conn.commit()
        finally:
            conn.close()
        return
    conn = _mysql_connect(url)
    try:
        with conn.cursor() as cur:
            for table in TABLES:
                cur.execute(f"DELETE FROM `{table}`")  # noqa: S608 - fixed table names
    finally:
        conn.close()


def task_columns(url: str, task_id: str, *columns: str) -> dict[str, Any]:
    """Some columns of one task as stored, read through a plain driver connection (datetimes
    parsed: aware on SQLite, naive UTC on MySQL)."""
    names = ", ".join(columns)
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite://"), timeout=10)
        try:
            row = conn.execute(f"SELECT {names} FROM tasks WHERE id = ?", (task_id,)).fetchone()  # noqa: S608
        finally:
            conn.close()
        values = [
            datetime.fromisoformat(v) if name.endswith(("_at", "_until")) and v else v
            for name, v in zip(columns, row, strict=True)
        ]
        return dict(zip(columns, values, strict=True))
    conn = _mysql_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT {names} FROM tasks WHERE id = %s", (task_id,))  # noqa: S608
            row = cur.fetchone()
    finally:
        conn.close()
    return dict(zip(columns, row, strict=True))
