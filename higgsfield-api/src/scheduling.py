"""The APScheduler instance and its jobs, each with its runner and its interval."""

import dataclasses

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from src.callbacks.delivery import deliver_due_callbacks
from src.core.clock import utcnow
from src.jobs.context import JobContext
from src.jobs.registry import Jobs
from src.jobs.runner import CoalescingRunner
from src.motions.refresh import CatalogRefresher
from src.outputs.copy import copy_due
from src.outputs.retention import expire_copies
from src.upstream.poll import poll_in_flight
from src.upstream.submit import Dispatcher
from src.upstream.tidy_up import tidy_up

CATALOG_CHECK_SECONDS = 3.0


def build_jobs(base: JobContext) -> Jobs:
    """The jobs over `base`, whose `on_final` becomes a nudge of the submit, callback and output
    jobs: a task that ends frees a Higgsfield slot, which the next pending task takes at once."""
    submit = CoalescingRunner("submit", lambda: dispatcher.run())
    callbacks = CoalescingRunner("callbacks", lambda: deliver_due_callbacks(ctx))

    async def keep_outputs() -> None:
        await expire_copies(ctx)
        await copy_due(ctx, more=outputs.nudge)

    outputs = CoalescingRunner("outputs", keep_outputs)

    def on_final() -> None:
        submit.nudge()
        callbacks.nudge()
        outputs.nudge()

    ctx = dataclasses.replace(base, on_final=on_final)
    dispatcher = Dispatcher(ctx)
    settings = ctx.settings
    jobs = Jobs(
        scheduler=AsyncIOScheduler(timezone="UTC"),
        submit=submit,
        tidy_up=CoalescingRunner("tidy-up", lambda: tidy_up(ctx)),
        poll=CoalescingRunner("poll", lambda: poll_in_flight(ctx)),
        catalog=CoalescingRunner("motions", CatalogRefresher(ctx)),
        callbacks=callbacks,
        outputs=outputs,
    )
    start = utcnow()
    for runner, seconds in (
        (jobs.catalog, min(CATALOG_CHECK_SECONDS, settings.motions_refresh_seconds)),
        (jobs.submit, settings.submit_interval),
        (jobs.tidy_up, settings.submit_interval),
        (jobs.poll, settings.poll_interval_seconds),
        (jobs.callbacks, settings.poll_interval_seconds),
        (jobs.outputs, settings.poll_interval_seconds),
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
