"""Motion catalog job: load it at start (retrying until it works), then refresh it hourly."""

from __future__ import annotations

import logging
import time

from src.schedulers.context import JobContext
from src.services import motions
from src.services.higgsfield import UpstreamError

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
            if self._loaded_at is None and self._ctx.settings.sandbox:
                await self._load_sandbox_catalog()
            else:
                await motions.refresh_catalog(self._ctx.higgsfield)
        except UpstreamError as exc:
            logger.warning("Loading the motion catalog failed, will retry: %s", exc)
            return
        self._loaded_at = time.monotonic()

    async def _load_sandbox_catalog(self) -> None:
        """The sandbox is served by this very process, which does not listen yet while it starts:
        its catalog is read from its own module, without HTTP, so that a create sent the moment
        the port opens finds it. Later refreshes go over HTTP, as with Higgsfield."""
        from src.sandbox.catalog import MOTIONS

        base = self._ctx.settings.upstream_base_url
        await motions.store_catalog([motion.to_json(base) for motion in MOTIONS])
