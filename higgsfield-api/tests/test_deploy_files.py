"""`make lint-deploy` (part of `make lint`) on the deployment files: it passes on them as shipped and
fails on broken copies of them, with the real hadolint, check-jsonschema and promtool.

The files live at the repository's root, outside higgsfield-api/: where the suite runs from the
service directory alone (the Docker test image), these tests are skipped and say why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import SERVICE_DIR

REPO = SERVICE_DIR.parent
DOCKERFILE = SERVICE_DIR / "Dockerfile"
COMPOSE_YAML = REPO / "docker-compose.yaml"
PROM_DIR = REPO / "deploy" / "prometheus"
VENV = Path(sys.prefix)  # the tools come from the dev requirements, installed beside pytest

pytestmark = pytest.mark.skipif(
    not (REPO / "Makefile").is_file() or not PROM_DIR.is_dir(),
    reason="the repository's Makefile and deploy/ are absent (the suite runs from higgsfield-api/ alone)",
)


def lint_deploy(**files: Path) -> subprocess.CompletedProcess[str]:
    """`make lint-deploy` with some files replaced, in the virtualenv running these tests (which
    `make` must not reinstall: -o keeps its stamps as they are)."""
    variables = [f"{name}={path}" for name, path in files.items()]
    stamps = [f"-o{VENV}/.installed-dev", f"-o{VENV}/.installed-base"]
    return subprocess.run(  # noqa: S603 - make from PATH, with our own arguments
        ["make", "--no-print-directory", *stamps, "lint-deploy", f"VENV={VENV}", *variables],  # noqa: S607
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def broken_copy(source: Path, folder: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {source}"
    copy = folder / source.name
    copy.write_text(text.replace(old, new))
    return copy


def needs_promtool() -> None:
    if shutil.which("promtool") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but promtool is not installed: .ci/run installs it")
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")


def test_the_files_as_shipped_pass():
    result = lint_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout  # the Compose schema was applied


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("COPY src/ ./src/", "COPPY src/ ./src/", "unexpected 'C'"),  # not an instruction
        ("FROM python:3.11-slim AS base", "FROM python:latest AS base", "DL3007"),  # a rule: no `latest`
        ("EXPOSE 8018", "EXPOSE 80180", "DL3011"),  # no such port
    ],
)
def test_a_broken_dockerfile_fails(tmp_path, old, new, said):
    result = lint_deploy(DOCKERFILE=broken_copy(DOCKERFILE, tmp_path, old, new))
    assert result.returncode != 0
    assert said in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        # A misspelt key of the api service.
        ('    ports:\n      - "8018:8018"', '    port:\n      - "8018:8018"', "'port' was unexpected"),
        # A value outside the specification's choices (the api's wait for the db).
        (
            "        condition: service_healthy\n\n  test:",
            "        condition: service_healty\n\n  test:",
            "'service_healty' is not one of",
        ),
        # A top-level key the specification does not have.
        ("\nvolumes:\n", "\nvolume:\n", "'volume' does not match"),
    ],
)
def test_an_invalid_compose_file_fails(tmp_path, old, new, said):
    result = lint_deploy(COMPOSE_YAML=broken_copy(COMPOSE_YAML, tmp_path, old, new))
    assert result.returncode != 0
    assert said in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        # PromQL that does not parse.
        ("expr: max(hfapi_poll_lag_seconds) > 30", "expr: max(hfapi_poll_lag_seconds > 30", "parse error"),
        # A threshold its unit test does not expect: the alert no longer fires in time.
        ("expr: max(hfapi_poll_lag_seconds) > 30", "expr: max(hfapi_poll_lag_seconds) > 300", "FAILED"),
    ],
)
def test_broken_alert_rules_fail(tmp_path, old, new, said):
    needs_promtool()
    rules = tmp_path / "prometheus"
    shutil.copytree(PROM_DIR, rules)
    broken_copy(PROM_DIR / "alerts.yml", rules, old, new)
    result = lint_deploy(PROM_DIR=rules)
    assert result.returncode != 0
    assert said in result.stdout + result.stderr
