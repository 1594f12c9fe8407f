"""Keeps secrets out of third-party DEBUG logs: Tortoise's and aiosqlite's records carry SQL
parameters (password hashes, webhook secrets) and the DB password. A record keeps its statement
and loses those values; it is rewritten, never dropped."""

import functools
import logging
from collections.abc import Mapping
from typing import Any

# Loggers whose records carry SQL parameter values or connection parameters in their args.
REDACTED_LOGGERS = ("tortoise.db_client", "aiosqlite")
SECRET_KEY_PARTS = ("password", "secret", "token")


def _redact(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return f"<{len(value)} values hidden>"
    if isinstance(value, Mapping):
        return {
            key: "<hidden>" if any(part in str(key).lower() for part in SECRET_KEY_PARTS) else val
            for key, val in value.items()
        }
    if isinstance(value, functools.partial):  # aiosqlite: a call and its arguments
        return f"{getattr(value.func, '__qualname__', 'call')}(...)"
    return value


class RedactArgsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = _redact(record.args)
        return True


def install_log_redaction() -> None:
    """Idempotent: each logger gets one filter however many apps a process builds."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactArgsFilter) for existing in logger.filters):
            logger.addFilter(RedactArgsFilter())
