"""The APScheduler instance and its jobs, started inside the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from src.schedulers.callbacks import deliver_due_callbacks
from src.schedulers.context import JobContext
from src.schedulers.motions import CatalogRefresher
from src.schedulers.poll import poll_in_flight
from src.schedulers.runner import CoalescingRunner
from src.schedulers.submit import submit_pending
from src.utils.clock import utcnow

CATALOG_CHECK_SECONDS = 3.0


@dataclass
class Jobs:
    scheduler: AsyncIOScheduler
    submit: CoalescingRunner
    poll: CoalescingRunner
    catalog: CoalescingRunner
    # Runs on the interval; anything that ends a task may `nudge()` it to send the callback at once.
    callbacks: CoalescingRunner

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    async def drain(self) -> None:
        for runner in (self.submit, self.poll, self.catalog, self.callbacks):
            await runner.drain()


def build_jobs(ctx: JobContext) -> Jobs:
    settings = ctx.settings
    jobs = Jobs(
        scheduler=AsyncIOScheduler(timezone="UTC"),
        submit=CoalescingRunner("submit", lambda: submit_pending(ctx)),
        poll=CoalescingRunner("poll", lambda: poll_in_flight(ctx)),
        catalog=CoalescingRunner("motions", CatalogRefresher(ctx)),
        callbacks=CoalescingRunner("callbacks", lambda: deliver_due_callbacks(ctx)),
    )
    ctx.on_final = jobs.callbacks.nudge
    start: datetime = utcnow()
    for runner, seconds in (
        (jobs.catalog, min(CATALOG_CHECK_SECONDS, settings.motions_refresh_seconds)),
        (jobs.submit, settings.submit_interval),
        (jobs.poll, settings.poll_interval_seconds),
        (jobs.callbacks, settings.poll_interval_seconds),
    ):
        jobs.scheduler.add_job(
            runner.run,
            "interval",
            seconds=seconds,
            id=runner.name,
            next_run_time=start,
            # The runner itself coalesces overlapping runs; this only keeps APScheduler quiet.
            max_instances=3,
            coalesce=True,
            misfire_grace_time=None,
        )
    return jobs
