"""prometheus-client's multiprocess mode for several uvicorn workers. Apart from the metrics
module because prometheus-client picks its storage from the environment when first imported:
`serve` sets `PROMETHEUS_MULTIPROC_DIR` before uvicorn starts the workers."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(configured: Path | None, workers: int) -> None:
    """Uses the configured directory, emptied of the last run's files; with several workers and none
    configured, a fresh one removed at exit; else none (metrics in the process's memory)."""
    os.environ.pop(ENV, None)  # an empty value would still switch prometheus-client's mode
    if configured:
        configured.mkdir(parents=True, exist_ok=True)
        for stale in configured.glob("*.db"):  # a previous run's counts would add to this one's
            stale.unlink()
        os.environ[ENV] = str(configured)
    elif workers > 1:
        path = tempfile.mkdtemp(prefix="higgsfield-metrics-")
        os.environ[ENV] = path
        atexit.register(shutil.rmtree, path, ignore_errors=True)
