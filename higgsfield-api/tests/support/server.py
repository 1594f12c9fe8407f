"""Serve an ASGI app for real over HTTP on loopback, from a background thread.

Tests talk to fakes through real sockets so that the service's httpx client, timeouts and
connection handling are exercised as in production, not a patched transport.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp


class LoopbackServer:
    """uvicorn on 127.0.0.1 and a free port; `start()` returns once the socket accepts."""

    def __init__(self, app: ASGIApp, *, start_timeout: float = 10.0, graceful_seconds: float = 1.0) -> None:
        self._app = app
        self._start_timeout = start_timeout
        # Short, so that stop() does not wait out a request a fake was told to hang.
        self._graceful_seconds = graceful_seconds
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> LoopbackServer:
        if self._thread is not None:
            raise RuntimeError("the server is already started")
        # Binding here (port 0) and handing the socket over avoids racing others for a port.
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
        # and without it Nagle and delayed ACKs add ~40 ms to every keep-alive request.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            loop="asyncio",
            ws="none",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=self._graceful_seconds,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="loopback-server", daemon=True
        )
        self._thread.start()
        self._wait_until_accepting()
        return self

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if self._thread is None or not self._thread.is_alive():
                raise RuntimeError("the server thread died while starting")
            try:
                with socket.create_connection(("127.0.0.1", self._port or 0), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.01)
        self.stop()
        raise TimeoutError(f"the server did not accept connections within {self._start_timeout} s")

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=self._graceful_seconds + 5)
        if self._thread.is_alive():
            raise RuntimeError("the server thread did not stop")
        self._server = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
