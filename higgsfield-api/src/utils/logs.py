"""Logging set-up for the server process (tests leave logging to pytest)."""

from __future__ import annotations

import logging

from src.config import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format=FORMAT)
    # httpx logs every request line at INFO, URLs included: keep that for DEBUG.
    quiet = max(logging.WARNING, logging.getLevelName(settings.log_level))
    logging.getLogger("httpx").setLevel(quiet)
    # APScheduler logs every run of every interval job at INFO.
    logging.getLogger("apscheduler").setLevel(quiet)
