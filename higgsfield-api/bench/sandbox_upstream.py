"""Higgsfield's stand-in for the HTTP rows of the bench: the service's sandbox app, in a process
of its own.

With no Higgsfield credentials `make run` serves the sandbox inside the service's own process,
so that every new task would also cost the service the sandbox's side of its upload and
submission. Higgsfield runs elsewhere; so does this: the service is pointed at it as at
Higgsfield (HF_BASE_URL, HF_API_KEY, HF_API_SECRET).

    python -m bench.sandbox_upstream PORT
"""

from __future__ import annotations

import sys

import uvicorn

from src.core.config import Settings
from src.sandbox.app import create_sandbox_app

# Jobs as long as the service's own sandbox makes them by default.
JOB_SECONDS = Settings.model_fields["sandbox_job_seconds"].default
READY_PATH = "/assets/video.mp4"


def main() -> None:
    app = create_sandbox_app(job_seconds=JOB_SECONDS)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
