"""Logging of the server process: one JSON object a line, Uvicorn's too (tests leave logging to
pytest). The keys of a line are listed in docs/operations.md, "Logs"."""

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_json

from src.core.request_id import current_request_id
from src.core.task_context import current_task_id

# Attributes a caller may pass with `extra=` that become keys of the line.
EXTRA_KEYS = ("method", "route", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id.get()
        if request_id:
            line["request_id"] = request_id
        for key in EXTRA_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        task_id = getattr(record, "task_id", None) or current_task_id.get()
        if task_id:
            line["task_id"] = str(task_id)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return to_json(line, fallback=str).decode()


def logging_config(level: str) -> dict[str, Any]:
    """The service's `dictConfig`, also uvicorn's log_config: its own lines are JSON too."""
    quiet = "WARNING" if logging.getLevelName(level) < logging.WARNING else level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {
            # Uvicorn's loggers write through the root handler (uvicorn would give them their own).
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            # Replaced by the service's own access line (src.access), one per request.
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
            # httpx logs every request line at INFO, URLs included: keep that for DEBUG.
            "httpx": {"level": quiet},
            # APScheduler logs every run of every interval job at INFO.
            "apscheduler": {"level": quiet},
            # The S3 client logs request bodies (image bytes) and signed headers at DEBUG: never.
            "botocore": {"level": "WARNING"},
            "aiobotocore": {"level": "WARNING"},
        },
    }
