"""The suite runs from higgsfield-api/ alone, as the Docker test image has it (no repository around it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.support.processes import SERVICE_DIR

# What .dockerignore keeps out of the image: local state and caches.
LOCAL_STATE = shutil.ignore_patterns(
    ".venv",
    "venv",
    "data",
    "__pycache__",
    "*.py[cod]",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "*.sqlite3",
    "*.sqlite3-*",
    ".env",
    ".env.*",
    "*.log",
)
# A quick file that used to read the repository's .env.example at collection.
QUICK_TESTS = "tests/test_secrets.py"


def pytest_in(directory, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TEST_MYSQL_URL" and not k.startswith("PYTEST_")}
    return subprocess.run(  # noqa: S603 - our own interpreter and pytest
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_suite_collects_and_runs_from_a_copy_of_the_service_directory(tmp_path):
    copy = tmp_path / "app"
    shutil.copytree(SERVICE_DIR, copy, ignore=LOCAL_STATE)
    assert not (tmp_path / ".env.example").exists()

    collected = pytest_in(copy, "--collect-only", "-q")
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert "error" not in collected.stdout.lower().splitlines()[-1], collected.stdout[-3000:]

    ran = pytest_in(copy, "-q", QUICK_TESTS)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    # Only the comparison with the absent .env.example is skipped, and it says why.
    assert "1 skipped" in ran.stdout and ".env.example is absent" in ran.stdout, ran.stdout[-3000:]
