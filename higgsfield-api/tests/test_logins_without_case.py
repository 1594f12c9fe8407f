"""Logins are unique without regard to case, everywhere: registration, login, disabling, the
failed-login count; and migration 0005 brings an existing database to that rule, or says why not."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from argon2 import PasswordHasher

from src.db.models import Client
from tests.support import databases
from tests.support.app import ADMIN_TOKEN, PASSWORD, make_settings, register, running_app
from tests.support.processes import SERVICE_DIR, service_env

ADMIN = {"X-ADMIN-TOKEN": ADMIN_TOKEN}
BEFORE = "models.0004_upstream_api"


async def test_a_login_differing_only_in_case_is_taken(service):
    await register(service.client, "carol")
    response = await service.client.post(
        "/api/auth/registration", json={"login": "CAROL", "password": PASSWORD}, headers=ADMIN
    )
    assert response.status_code == 409, response.text
    assert await Client.all().count() == 1


async def test_login_and_disable_ignore_case_and_the_login_keeps_its_registered_case(service):
    registered = await register(service.client, "Carol.Studio")
    response = await service.client.post(
        "/api/auth/login", json={"login": "carol.STUDIO", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert response.json()["login"] == "Carol.Studio"
    assert response.json()["client_id"] == registered["client_id"]

    disabled = await service.client.post("/api/auth/clients/CAROL.studio/disable", headers=ADMIN)
    assert disabled.status_code == 204
    again = await service.client.post("/api/auth/login", json={"login": "Carol.Studio", "password": PASSWORD})
    assert again.status_code == 401


async def test_failures_under_one_spelling_count_for_the_one_client(service):
    """One client, one budget: there is no "CAROL" apart from "carol" to lock out by mistake."""
    await register(service.client, "carol")
    for _ in range(5):
        wrong = await service.client.post(
            "/api/auth/login", json={"login": "CAROL", "password": "wrong password"}
        )
        assert wrong.status_code == 401
    right = await service.client.post("/api/auth/login", json={"login": "carol", "password": PASSWORD})
    assert right.status_code == 429


@pytest.fixture(params=["sqlite", "mysql"])
def database_before_0005(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A database of its own (not the session's), migrated up to 0003."""
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'old.sqlite3'}"
        databases.migrate(url, target=BEFORE)
        yield url
        return
    base = databases.mysql_url()
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TEST_MYSQL_URL is not set: the MariaDB tests must run in CI")
        pytest.skip("TEST_MYSQL_URL is not set")
    parts = urlparse(base)
    url = parts._replace(path=parts.path.rstrip("/") + "_before_0005").geturl()
    databases.recreate_mysql(url)
    try:
        databases.migrate(url, target=BEFORE)
        yield url
    finally:
        conn = databases._mysql_connect(url, with_db=False)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{urlparse(url).path.lstrip('/')}`")
        finally:
            conn.close()


def insert_client(url: str, login: str) -> None:
    """A client as the service before 0005 stored it."""
    row = (str(uuid.uuid4()), login, PasswordHasher().hash(PASSWORD), "whsec_old", "2026-01-01 00:00:00")
    sql = "INSERT INTO clients (id, login, password_hash, webhook_secret, created_at) VALUES (%s)"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            conn.execute(sql % ", ".join("?" * 5), row)
        return
    conn = databases._mysql_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql % ", ".join(["%s"] * 5), row)
    finally:
        conn.close()


def migrate_cli(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "src.cli", "migrate"],
        cwd=SERVICE_DIR,
        env=service_env(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_migration_0005_keys_the_existing_clients(database_before_0005, fake):
    insert_client(database_before_0005, "Carol")
    insert_client(database_before_0005, "bob")
    result = migrate_cli(database_before_0005)
    assert result.returncode == 0, result.stderr

    settings = make_settings(database_before_0005, fake.url)
    async with running_app(settings) as (_app, client):
        keys = sorted(await Client.all().values_list("login_key", flat=True))
        assert keys == ["bob", "carol"]
        response = await client.post("/api/auth/login", json={"login": "CAROL", "password": PASSWORD})
        assert response.status_code == 200, response.text
        assert response.json()["login"] == "Carol"
        taken = await client.post(
            "/api/auth/registration", json={"login": "BOB", "password": PASSWORD}, headers=ADMIN
        )
        assert taken.status_code == 409


def test_migration_0005_stops_on_logins_differing_only_in_case_and_changes_nothing(tmp_path):
    """Only SQLite could hold both: MySQL's default collations compare logins without case."""
    database = tmp_path / "old.sqlite3"
    url = f"sqlite://{database}"
    databases.migrate(url, target=BEFORE)
    for login in ("carol", "CAROL", "dave"):
        insert_client(url, login)

    result = migrate_cli(url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Migration failed") and "'CAROL' and 'carol'" in lines[0], lines[0]
    assert "dave" not in lines[0] and "Rename" in lines[0]
    with sqlite3.connect(database) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(clients)")]
    assert "login_key" not in columns

    with sqlite3.connect(database) as conn:  # the operator renames one, as the message says
        conn.execute("UPDATE clients SET login = 'carol2' WHERE login = 'CAROL'")
    assert migrate_cli(url).returncode == 0
