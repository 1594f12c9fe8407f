"""The scheduled jobs as the rest of the app sees them. Built by `src.scheduling.build_jobs`."""

from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from src.jobs.runner import CoalescingRunner


@dataclass
class Jobs:
    scheduler: AsyncIOScheduler
    submit: CoalescingRunner
    tidy_up: CoalescingRunner
    poll: CoalescingRunner
    catalog: CoalescingRunner
    callbacks: CoalescingRunner
    # Copies outputs and sweeps expired copies (src/outputs/); nudged when a task ends.
    outputs: CoalescingRunner

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    async def drain(self) -> None:
        for runner in (self.submit, self.tidy_up, self.poll, self.catalog, self.callbacks, self.outputs):
            await runner.drain()
