"""Secrets at start: a weak or placeholder ADMIN_TOKEN stops the service; comparisons are constant-time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from src.core.config import EXAMPLE_SECRETS, REPO_DIR, Settings, reveal
from tests.support.app import ADMIN_TOKEN
from tests.support.processes import SERVICE_DIR, service_env

SRC = SERVICE_DIR / "src"
# Beside higgsfield-api/, so absent where the service directory stands alone (the Docker test image).
EXAMPLE_FILE = REPO_DIR / ".env.example"


def example_values(name: str) -> list[str]:
    lines = EXAMPLE_FILE.read_text().splitlines()
    return [line.split("=", 1)[1] for line in lines if line.startswith(f"{name}=")]


@pytest.mark.parametrize("token", ["short", "x" * 31, " " * 40, *sorted(EXAMPLE_SECRETS)])
def test_a_weak_or_example_admin_token_is_refused(token):
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, admin_token=token)
    message = str(caught.value)
    assert "ADMIN_TOKEN" in message
    assert token.strip() not in message or not token.strip()  # the refused value is not echoed


def test_every_secret_placeholder_of_the_example_file_is_refused():
    if not EXAMPLE_FILE.exists():
        pytest.skip(".env.example is absent: higgsfield-api/ runs without the repository around it")
    assert example_values("ADMIN_TOKEN"), ".env.example names ADMIN_TOKEN"
    for value in example_values("ADMIN_TOKEN"):
        with pytest.raises(ValidationError):
            Settings(_env_file=None, admin_token=value)


@pytest.mark.parametrize("token", [None, ADMIN_TOKEN, "y" * 32])
def test_a_strong_or_unset_admin_token_is_accepted(token):
    assert reveal(Settings(_env_file=None, admin_token=token).admin_token) == token


def test_the_service_does_not_start_with_the_example_token():
    result = subprocess.run(
        [sys.executable, "-m", "src.cli", "serve"],
        cwd=SERVICE_DIR,
        env=service_env(ADMIN_TOKEN="change-me"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Configuration error: ADMIN_TOKEN")
    assert "Traceback" not in result.stderr


def _names(node: ast.AST) -> list[str]:
    """The names in an expression, except inside bool(...) and len(...), which compare no content."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("bool", "len"):
        return []
    own = [node.attr] if isinstance(node, ast.Attribute) else [node.id] if isinstance(node, ast.Name) else []
    return own + [name for child in ast.iter_child_nodes(node) for name in _names(child)]


def _compared_names(path: Path) -> list[str]:
    """Names that take part in == / != comparisons in one module."""
    return [
        name
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops)
        for side in (node.left, *node.comparators)
        for name in _names(side)
    ]


def test_secrets_are_never_compared_with_equals():
    """Tokens, keys and secrets go through security.same_secret (hmac.compare_digest), never ==."""
    secretive = ("token", "secret", "password", "api_key", "signature", "key_hash")
    offenders = [
        f"{path.relative_to(SERVICE_DIR)}: {name}"
        for path in sorted(SRC.rglob("*.py"))
        for name in _compared_names(path)
        if any(word in name.lower() for word in secretive)
    ]
    assert offenders == []
