"""The processes a bench run starts: the service (as `make run` does), the baseline, fakes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

SERVICE_DIR = Path(__file__).resolve().parents[1]
BENCH_ADMIN_TOKEN = "bench-admin-token-0123456789abcdef0123456789"
BENCH_HEALTH_UUID = "9d1c0a52-3c0e-4b8e-9a51-0b0e0b4c1a77"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(port: int, **values: str | int | float) -> dict[str, str]:
    """A clean environment (no developer .env, no inherited settings); sandbox upstream."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {key: value for key, value in os.environ.items() if key in keep}
    env.update(
        ENV_FILE=os.devnull,
        HOST="127.0.0.1",
        PORT=str(port),
        ADMIN_TOKEN=BENCH_ADMIN_TOKEN,
        UUID_TEST_CHECK=BENCH_HEALTH_UUID,
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in values.items()})
    return env


class Server:
    """A server subprocess, its log in a file; `stop()` sends SIGTERM like a supervisor."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._out = log.open("ab")
        self.process = subprocess.Popen(args, cwd=SERVICE_DIR, env=env, stdout=self._out, stderr=self._out)

    def wait_ready(self, path: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.url} exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.url} did not get ready:\n{self.log.read_text()[-3000:]}")

    def peak_rss_mib(self) -> float:
        """VmHWM (peak resident memory) of the server process plus its children, in MiB."""
        return sum(_status_kib(pid, "VmHWM") for pid in _tree(self.process.pid)) / 1024

    def rss_mib(self) -> float:
        return sum(_status_kib(pid, "VmRSS") for pid in _tree(self.process.pid)) / 1024

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo and len(pids) < 64:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            todo.extend(int(child) for child in task.read_text().split())
    return pids


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def recreate_mysql(url: str) -> None:
    """Drops and makes again the (disposable) database of a mysql:// URL."""
    import pymysql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    conn = pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        autocommit=True,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()


def start_service(env: dict[str, str], log: Path) -> Server:
    """`python -m src.cli migrate`, then `python -m src.cli serve`, as `make run` does."""
    with log.open("ab") as out:
        subprocess.run(
            [sys.executable, "-m", "src.cli", "migrate"],
            cwd=SERVICE_DIR,
            env=env,
            stdout=out,
            stderr=out,
            check=True,
        )
    server = Server([sys.executable, "-m", "src.cli", "serve"], env, log, int(env["PORT"]))
    server.wait_ready(f"/health/{BENCH_HEALTH_UUID}")
    return server


def start_module(module: str, port: int, log: Path, ready_path: str) -> Server:
    """`python -m <module> PORT` (the baseline app, the poller's fake upstream)."""
    env = service_env(port)
    server = Server([sys.executable, "-m", module, str(port)], env, log, port)
    server.wait_ready(ready_path)
    return server
