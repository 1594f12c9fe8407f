"""The loopback server the tests serve the sandbox and the callback receiver with."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from src.sandbox.app import create_sandbox_app
from tests.support.server import LoopbackServer


def test_loopback_server_serves_any_asgi_app() -> None:
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("hi"))])
    server = LoopbackServer(app)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.url
    with server:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(server.url).text == "hi"
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url)


def test_stopping_does_not_wait_for_a_hung_request() -> None:
    app = create_sandbox_app()
    app.state.sandbox.hang_next("motions", 30)
    server = LoopbackServer(app, graceful_seconds=0.2).start()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(
            f"{server.url}/v1/motions", headers={"hf-api-key": "sandbox", "hf-secret": "sandbox"}, timeout=0.2
        )
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
