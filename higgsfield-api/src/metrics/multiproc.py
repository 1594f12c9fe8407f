"""prometheus-client's multiprocess mode for several uvicorn workers.

Kept apart from the metrics module on purpose: prometheus-client picks its storage when it
is first imported, from the process environment, so `PROMETHEUS_MULTIPROC_DIR` must be in
`os.environ` before anything imports it. `serve` calls this before uvicorn starts the
workers, which inherit the environment.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(configured: Path | None, workers: int) -> Path | None:
    """With a directory configured (the setting, from the environment or `.env`), empty it of
    the last run's files and export it; with several workers and none configured, make a fresh
    one for this run (removed at exit). With one worker and none configured, metrics live in
    the process's memory: returns None."""
    os.environ.pop(ENV, None)  # an empty value would still switch prometheus-client's mode
    if configured:
        configured.mkdir(parents=True, exist_ok=True)
        for stale in configured.glob("*.db"):  # a previous run's counts would add to this one's
            stale.unlink()
        os.environ[ENV] = str(configured)
        return configured
    if workers <= 1:
        return None
    path = Path(tempfile.mkdtemp(prefix="higgsfield-metrics-"))
    os.environ[ENV] = str(path)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
