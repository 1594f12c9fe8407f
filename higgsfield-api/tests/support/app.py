"""Running the real app in-process: its lifespan, its scheduler, an httpx client over ASGI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from tortoise.backends.base.executor import EXECUTOR_CACHE

from src.app_factory import create_app
from src.core.config import Settings
from src.web.deps import AppState
from tests.support.databases import blob_dir

ADMIN_TOKEN = "test-admin-token-0123456789abcdef0123456789"
HEALTH_UUID = "4b1f3f7e-2f38-4c5e-9a51-6b0e0b4c1a77"
PASSWORD = "correct horse battery"
# The Higgsfield API generations the service speaks (HF_API_VERSION); v2 is the default.
GENERATIONS = ("v1", "v2")


def make_settings(db_url: str, upstream_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "blob_dir": blob_dir(db_url),
        "admin_token": ADMIN_TOKEN,
        "uuid_test_check": HEALTH_UUID,
        "hf_api_key": "test-key",
        "hf_api_secret": "test-secret",
        "hf_base_url": upstream_url,
        "hf_timeout_seconds": 2.0,
        "poll_interval_seconds": 0.1,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
        "lease_seconds": 5.0,
        "callback_allow_private": True,  # the test receivers listen on loopback
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def serving(
    app: FastAPI, *, wait_for_catalog: bool = True
) -> AsyncIterator[tuple[AppState, httpx.AsyncClient]]:
    """The app started (its lifespan run as a server would), with the state its lifespan yielded
    and a client over ASGI."""
    # Tortoise caches compiled INSERTs per connection name ("default"), across re-inits: a
    # process that switches between SQLite and MySQL, as this suite does, must drop them.
    EXECUTOR_CACHE.clear()
    seen: dict[str, Any] = {}

    async def keep_state(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the dict the lifespan fills (the ASGI lifespan state)
            seen["state"] = scope["state"]
        await app(scope, receive, send)

    async with LifespanManager(keep_state, startup_timeout=20, shutdown_timeout=20) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
            if wait_for_catalog:
                await eventually(_catalog_loaded, within=10, what="the motion catalog to load")
            yield seen["state"], client


def served(app: FastAPI, state: AppState) -> Callable[..., Awaitable[None]]:
    """`app` as a server runs it: every request carries a copy of the lifespan's state."""

    async def with_state(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    return with_state


@asynccontextmanager
async def running_app(
    settings: Settings, *, wait_for_catalog: bool = True
) -> AsyncIterator[tuple[AppState, httpx.AsyncClient]]:
    async with serving(create_app(settings), wait_for_catalog=wait_for_catalog) as running:
        yield running


async def _catalog_loaded() -> bool:
    from src.db.models import Motion

    return await Motion.all().count() > 0


async def eventually(
    check: Callable[[], Awaitable[Any]], *, within: float = 10, what: str = "a condition"
) -> Any:
    """Polls `check` until it returns something truthy; fails the test after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


async def register(client: httpx.AsyncClient, login: str = "acme") -> dict[str, Any]:
    response = await client.post(
        "/api/auth/registration",
        json={"login": login, "password": PASSWORD},
        headers={"X-ADMIN-TOKEN": ADMIN_TOKEN},
    )
    assert response.status_code == 201, response.text
    return response.json()
