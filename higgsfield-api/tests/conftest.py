"""Shared fixtures: the databases, the sandbox as Higgsfield on loopback, the running service."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from src.app_factory import create_app
from src.core.config import Settings
from src.sandbox.app import create_sandbox_app
from src.sandbox.state import Sandbox
from src.web.deps import AppState
from tests.support import databases
from tests.support.app import make_settings, register, serving
from tests.support.receiver import Receiver
from tests.support.server import LoopbackServer

BACKENDS = ["sqlite", "mysql"]


@pytest.fixture(scope="session", params=BACKENDS)
def prepared_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database per backend for the session. MySQL runs when TEST_MYSQL_URL is set;
    in CI (CI=true) it must be set and reachable, never skipped."""
    kind = request.param
    if kind == "mysql" and not databases.mysql_url():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TEST_MYSQL_URL is not set: the MariaDB tests must run in CI")
        pytest.skip("TEST_MYSQL_URL is not set")
    return databases.prepare(kind, tmp_path_factory.mktemp(kind))


@pytest.fixture
def db_url(prepared_db: str) -> str:
    """The test's database, emptied."""
    databases.wipe(prepared_db)
    return prepared_db


# The sandbox as the tests' Higgsfield: the credentials `make_settings` sends, and jobs that
# move one step per read of them (not with the clock), so that a test decides when they end.
TEST_UPSTREAM = {"api_key": "test-key", "api_secret": "test-secret", "job_seconds": None, "reads_per_step": 1}


@pytest.fixture(scope="session")
def fake_server() -> Iterator[tuple[Sandbox, LoopbackServer]]:
    app = create_sandbox_app(**TEST_UPSTREAM)
    with LoopbackServer(app) as server:
        yield app.state.sandbox, server


@dataclass
class LoopbackFake:
    """The sandbox serving as Higgsfield, where it listens, and views of its records."""

    sandbox: Sandbox
    url: str

    def __getattr__(self, name: str):
        return getattr(self.sandbox, name)

    @property
    def prompts(self) -> list[str]:
        """The prompt of every accepted submission, whichever generation sent it."""
        return [body.get("params", body).get("prompt", "") for body in self.sandbox.submissions]

    @property
    def image_urls(self) -> list[str]:
        """The image URL of every accepted submission, whichever generation sent it."""
        return [
            body["params"]["input_images"][0]["image_url"] if "params" in body else body["image_url"]
            for body in self.sandbox.submissions
        ]

    @property
    def job_set_reads(self) -> int:
        """Reads of a job set (v1) or a request's status (v2)."""
        return self.sandbox.calls["job_set"]


@pytest.fixture
def fake(fake_server: tuple[Sandbox, LoopbackServer]) -> LoopbackFake:
    sandbox, server = fake_server
    sandbox.reset()
    return LoopbackFake(sandbox, server.url)


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    receiver = Receiver()
    with LoopbackServer(receiver.app) as server:
        receiver.url = server.url
        yield receiver


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    """A client's webhook receiver on loopback, emptied for the test."""
    receiver_server.reset()
    return receiver_server


@dataclass
class Service:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    fake: LoopbackFake
    state: AppState  # what the app's lifespan yielded: its jobs, blob store, ...


@pytest.fixture
def api_version() -> str:
    """The Higgsfield API generation the service speaks: the default, v2. A test runs against
    both with `@pytest.mark.parametrize("api_version", GENERATIONS)` (it overrides this)."""
    return "v2"


@pytest.fixture
async def service(db_url: str, fake: LoopbackFake, api_version: str) -> AsyncIterator[Service]:
    settings = make_settings(db_url, fake.url, hf_api_version=api_version)
    app = create_app(settings)
    async with serving(app) as (state, client):
        yield Service(app, client, settings, fake, state)


@pytest.fixture
async def api_key(service: Service) -> str:
    return (await register(service.client, "acme"))["api_key"]


@pytest.fixture
async def other_api_key(service: Service) -> str:
    return (await register(service.client, "globex"))["api_key"]


@pytest.fixture
def tmp_dir(tmp_path: Path) -> Path:
    return tmp_path
