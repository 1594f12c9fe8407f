"""The APScheduler instance and its jobs, started inside the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

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

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    async def drain(self) -> None:
        for runner in (self.submit, self.poll, self.catalog):
            await runner.drain()


def build_jobs(ctx: JobContext) -> Jobs:
    settings = ctx.settings
    jobs = Jobs(
        scheduler=AsyncIOScheduler(timezone="UTC"),
        submit=CoalescingRunner("submit", lambda: submit_pending(ctx)),
        poll=CoalescingRunner("poll", lambda: poll_in_flight(ctx)),
        catalog=CoalescingRunner("motions", CatalogRefresher(ctx)),
    )
    start: datetime = utcnow()
    for runner, seconds in (
        (jobs.catalog, min(CATALOG_CHECK_SECONDS, settings.motions_refresh_seconds)),
        (jobs.submit, settings.submit_interval),
        (jobs.poll, settings.poll_interval_seconds),
    ):
        jobs.scheduler.add_job(
            runner.run,
            "interval",
            seconds=seconds,
            id=runner.name,
            next_run_time=start,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    return jobs
