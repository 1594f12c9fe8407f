"""Motion catalog job: load it at start (retrying until it works), then refresh it hourly.

Where the catalog is the built-in one (the sandbox serves it; v2 has none of its own) the first
load reads it straight from `src.motions.builtin`, without HTTP, and runs before the server
listens (see app_factory), so a create sent the moment the port opens finds it. The sandbox is
served by this very process, which does not listen yet while it starts."""

from __future__ import annotations

import logging
import time

from src.jobs.context import JobContext
from src.motions import builtin
from src.motions import service as motions
from src.upstream.errors import UpstreamError

logger = logging.getLogger(__name__)


class CatalogRefresher:
    def __init__(self, ctx: JobContext) -> None:
        self._ctx = ctx
        self._loaded_at: float | None = None

    async def __call__(self) -> None:
        """Runs every few seconds; only calls Higgsfield when the catalog is missing or old."""
        if (
            self._loaded_at
            and time.monotonic() - self._loaded_at < self._ctx.settings.motions_refresh_seconds
        ):
            return
        try:
            if self._loaded_at is None and self._ctx.settings.catalog_is_local:
                await motions.store_catalog(builtin.catalog())
            else:
                await motions.refresh_catalog(self._ctx.higgsfield.default)
        except UpstreamError as exc:
            logger.warning("Loading the motion catalog failed, will retry: %s", exc)
            return
        self._loaded_at = time.monotonic()
