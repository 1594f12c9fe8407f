"""The service as real processes, started the way `make run` starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.app import ADMIN_TOKEN, HEALTH_UUID
from tests.support.databases import blob_dir

SERVICE_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(**values: str | float | int) -> dict[str, str]:
    """A clean environment: no .env of the developer's, no inherited service settings."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "CI")}
    env.update(
        ENV_FILE=os.devnull,
        HOST="127.0.0.1",
        ADMIN_TOKEN=ADMIN_TOKEN,
        UUID_TEST_CHECK=HEALTH_UUID,
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in values.items()})
    if "DATABASE_URL" in env and "BLOB_DIR" not in env:  # the images belong with the rows
        env["BLOB_DIR"] = str(blob_dir(env["DATABASE_URL"]))
    return env


def run_cli(command: str, env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "src.cli", command],
            cwd=SERVICE_DIR,
            env=env,
            stdout=out,
            stderr=out,
            check=True,
        )


SERVE = ("-m", "src.cli", "serve")


class ServerProcess:
    """A server subprocess of our interpreter, by default `python -m src.cli serve`, its output in
    `log`; `stop()` sends SIGTERM like a supervisor would. The bench starts its servers so too."""

    def __init__(self, env: dict[str, str], log: Path, args: tuple[str, ...] = SERVE) -> None:
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, *args],
            cwd=SERVICE_DIR,
            env=env,
            stdout=self._out,
            stderr=self._out,
        )

    def wait_ready(self, timeout: float = 30, path: str = f"/health/{HEALTH_UUID}") -> None:
        """Until `path` answers 200 (by default the service's health)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not become healthy:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as in a crash or an OOM kill."""
        self.process.kill()
        self.process.wait()
        self._out.close()

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()
        return self.process.returncode
