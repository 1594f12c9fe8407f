"""Motion catalog job: load it at start (retrying until it works), then refresh it hourly. A built-in
catalog is first loaded without HTTP, before the server listens (see app_factory): the sandbox that
serves it is this very process, and a create sent the moment the port opens must find it."""

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
        refresh_seconds = self._ctx.settings.motions_refresh_seconds
        if self._loaded_at and time.monotonic() - self._loaded_at < refresh_seconds:
            return
        try:
            if self._loaded_at is None and self._ctx.settings.catalog_is_local:
                await motions.store_catalog(builtin.catalog())
            else:
                await motions.refresh_catalog(self._ctx.higgsfield.catalog)
        except UpstreamError as exc:
            logger.warning("Loading the motion catalog failed, will retry: %s", exc)
            return
        self._loaded_at = time.monotonic()
