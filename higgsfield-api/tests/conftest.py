"""Shared fixtures: the databases, the fake Higgsfield on loopback, the running service."""

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
from src.web.deps import AppState
from tests.fakes.higgsfield import FakeHiggsfield
from tests.fakes.receiver import Receiver
from tests.fakes.server import LoopbackServer
from tests.support import databases
from tests.support.app import make_settings, register, serving

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


@pytest.fixture(scope="session")
def fake_server() -> Iterator[tuple[FakeHiggsfield, LoopbackServer]]:
    fake = FakeHiggsfield()
    with LoopbackServer(fake.app) as server:
        yield fake, server


@dataclass
class LoopbackFake:
    """The fake Higgsfield and where it listens."""

    fake: FakeHiggsfield
    url: str

    def __getattr__(self, name: str):
        return getattr(self.fake, name)


@pytest.fixture
def fake(fake_server: tuple[FakeHiggsfield, LoopbackServer]) -> LoopbackFake:
    higgsfield, server = fake_server
    higgsfield.reset()
    return LoopbackFake(higgsfield, server.url)


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
