"""The command line: .env creation, and one clear line for a bad configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from urllib.parse import urlparse

import pytest

from src.cli import init_env
from tests.support import databases
from tests.support.processes import SERVICE_DIR, ServerProcess, free_port, run_cli, service_env


def run(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "src.cli", command],
        cwd=SERVICE_DIR,
        env=service_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_init_env_writes_fresh_secrets_once(tmp_path):
    example = tmp_path / ".env.example"
    example.write_text("# comment\nADMIN_TOKEN=change-me\nUUID_TEST_CHECK=change-me\nPORT=8018\n")
    env_file = tmp_path / ".env"
    init_env(env_file, example)
    first = env_file.read_text()
    values = dict(line.split("=", 1) for line in first.splitlines() if "=" in line)
    assert values["PORT"] == "8018" and "# comment" in first
    assert values["ADMIN_TOKEN"] != "change-me" and len(values["ADMIN_TOKEN"]) >= 32
    assert values["UUID_TEST_CHECK"] != "change-me"
    init_env(env_file, example)
    assert env_file.read_text() == first  # an existing .env is never overwritten


def test_a_malformed_number_stops_with_one_line_naming_the_setting(tmp_path):
    result = run("migrate", POLL_INTERVAL_SECONDS="often", SQLITE_PATH=str(tmp_path / "x.sqlite3"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "POLL_INTERVAL_SECONDS" in lines[0], result.stderr


def test_an_unreachable_database_stops_with_one_line(tmp_path):
    result = run("migrate", DATABASE_URL=f"mysql://root:@127.0.0.1:{free_port()}/nothing")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DATABASE_URL" in lines[0], result.stderr


def test_the_server_refuses_to_start_on_a_bad_setting(tmp_path):
    result = run("serve", PORT="eighty", SQLITE_PATH=str(tmp_path / "x.sqlite3"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "PORT" in result.stderr


def test_the_server_listens_on_loopback_unless_host_says_otherwise(tmp_path):
    env = service_env(PORT=free_port(), SQLITE_PATH=tmp_path / "x.sqlite3")
    del env["HOST"]
    log = tmp_path / "server.log"
    run_cli("migrate", env, log)
    server = ServerProcess(env, log)
    try:
        server.wait_ready()
    finally:
        server.stop()
    assert f"Uvicorn running on http://127.0.0.1:{env['PORT']}" in log.read_text()


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_a_database_that_does_not_exist_says_so_and_how_to_create_it(command):
    """Told apart from a server that cannot be reached, against the real MariaDB/MySQL server."""
    url = databases.mysql_url()
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TEST_MYSQL_URL is not set: the MariaDB tests must run in CI")
        pytest.skip("TEST_MYSQL_URL is not set")
    parts = urlparse(url)
    missing = f"hf_missing_{uuid.uuid4().hex[:12]}"
    result = run(command, DATABASE_URL=parts._replace(path=f"/{missing}").geturl(), PORT=str(free_port()))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"the database '{missing}' does not exist" in lines[0]
    assert f"CREATE DATABASE `{missing}` CHARACTER SET utf8mb4" in lines[0]
    assert "DATABASE_URL" in lines[0] and "Can't connect" not in lines[0]
