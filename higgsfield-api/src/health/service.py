"""Liveness of what the service depends on."""

from __future__ import annotations

import asyncio
import logging

from src.db.models import Motion

logger = logging.getLogger(__name__)
DB_CHECK_TIMEOUT_SECONDS = 3.0


async def check_database() -> str:
    """ "ok", or a short reason; reads a real table so a missing schema counts as down."""
    try:
        await asyncio.wait_for(Motion.all().limit(1).values_list("id"), DB_CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # any driver error means the database is not usable
        logger.warning("Health check: the database is not reachable: %s", type(exc).__name__)
        return "unreachable"
    return "ok"
