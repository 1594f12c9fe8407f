"""The processes a bench run starts: the service (as `make run` does), the baseline, fakes.
They are the test suite's server processes (tests/support/processes.py), with memory readings."""

from __future__ import annotations

from pathlib import Path

from tests.support.app import ADMIN_TOKEN, HEALTH_UUID
from tests.support.databases import recreate_mysql
from tests.support.processes import SERVICE_DIR, ServerProcess, free_port, run_cli
from tests.support.processes import service_env as _service_env

__all__ = ["ADMIN_TOKEN", "SERVICE_DIR", "Server", "free_port", "recreate_mysql", "service_env"]


def service_env(port: int, **values: str | int | float) -> dict[str, str]:
    """A clean environment (no developer .env, no inherited settings); sandbox upstream."""
    return _service_env(PORT=port, **values)


class Server(ServerProcess):
    """A server subprocess, with the memory it and its children use."""

    def peak_rss_mib(self) -> float:
        """VmHWM (peak resident memory) of the server process plus its children, in MiB."""
        return sum(_status_kib(pid, "VmHWM") for pid in _tree(self.process.pid)) / 1024

    def reset_peak(self) -> None:
        """Starts VmHWM afresh at the current resident memory (Linux: clear_refs 5)."""
        for pid in _tree(self.process.pid):
            Path(f"/proc/{pid}/clear_refs").write_text("5")

    def rss_mib(self) -> float:
        return sum(_status_kib(pid, "VmRSS") for pid in _tree(self.process.pid)) / 1024


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


def start_service(env: dict[str, str], log: Path) -> Server:
    """`python -m src.cli migrate`, then `python -m src.cli serve`, as `make run` does."""
    run_cli("migrate", env, log)
    server = Server(env, log)
    server.wait_ready(path=f"/health/{HEALTH_UUID}")
    return server


def start_module(module: str, port: int, log: Path, ready_path: str) -> Server:
    """`python -m <module> PORT` (the baseline app, the poller's fake upstream)."""
    server = Server(service_env(port), log, ("-m", module, str(port)))
    server.wait_ready(path=ready_path)
    return server
