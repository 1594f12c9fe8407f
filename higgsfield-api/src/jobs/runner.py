import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class CoalescingRunner:
    """Runs one job, never twice at once: APScheduler calls `run()` on the interval, `nudge()` asks
    for a run now; nudges during a run cause exactly one more run."""

    def __init__(self, name: str, job: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self._job = job
        self._lock = asyncio.Lock()
        self._again = False
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        if self._closed:
            return
        if self._lock.locked():
            self._again = True
            return
        async with self._lock:
            self._again = True
            while self._again and not self._closed:
                self._again = False
                try:
                    await self._job()
                except Exception:
                    logger.exception("Scheduled job %s failed; it will run again", self.name)

    def nudge(self) -> None:
        task = asyncio.get_running_loop().create_task(self.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Graceful shutdown: no new runs; waits for the one in flight to finish."""
        self._closed = True
        async with self._lock:
            pass
        await asyncio.gather(*self._tasks, return_exceptions=True)
