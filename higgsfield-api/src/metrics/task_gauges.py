"""The task gauges, read from the database when Prometheus scrapes.

Computed at scrape time rather than kept up to date by every writer: tasks change in several
processes (workers, replicas), and one GROUP BY over the status index is cheap at scrape
intervals. Four queries per scrape in all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from tortoise.functions import Count, Min

from src.callbacks.delivery import due_filter
from src.core.clock import utcnow
from src.db.models import FINAL_STATUSES, UPSTREAM_STATUSES, Task, TaskStatus


@dataclass(frozen=True, slots=True)
class TaskGauges:
    by_status: dict[str, int]
    oldest_active_age_seconds: float
    dispatch_queue: int
    callback_backlog: int
    poll_lag_seconds: float


async def read_task_gauges() -> TaskGauges:
    now = utcnow()
    rows = (
        await Task.annotate(n=Count("id"), oldest=Min("created_at"))
        .group_by("status")
        .values("status", "n", "oldest")
    )
    by_status = dict.fromkeys((status.value for status in TaskStatus), 0)
    oldest: datetime | None = None
    for row in rows:
        by_status[row["status"]] = row["n"]
        if row["status"] not in FINAL_STATUSES and row["oldest"] is not None:
            oldest = row["oldest"] if oldest is None else min(oldest, row["oldest"])
    dispatch_queue = await Task.filter(status=TaskStatus.PENDING, next_attempt_at__lte=now).count()
    callback_backlog = await Task.filter(due_filter(now)).count()
    # The most overdue read of a job Higgsfield has: the poller is behind by this much.
    overdue = (
        await Task.filter(status__in=list(UPSTREAM_STATUSES), next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .limit(1)
        .values_list("next_attempt_at", flat=True)
    )
    age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    lag = max(0.0, (now - overdue[0]).total_seconds()) if overdue else 0.0
    return TaskGauges(by_status, age, dispatch_queue, callback_backlog, lag)


class TaskGaugeCollector(Collector):
    """Hands one scrape's `TaskGauges` to prometheus-client as metric families."""

    def __init__(self, gauges: TaskGauges) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[GaugeMetricFamily]:
        tasks = GaugeMetricFamily(
            "hfapi_tasks", "Tasks by status (submitting: being sent now)", labels=["status"]
        )
        for status, count in sorted(self.gauges.by_status.items()):
            tasks.add_metric([status], count)
        yield tasks
        yield GaugeMetricFamily(
            "hfapi_oldest_active_task_age_seconds",
            "Age of the oldest task that is not final yet (0 when there is none)",
            value=self.gauges.oldest_active_age_seconds,
        )
        yield GaugeMetricFamily(
            "hfapi_dispatch_queue_length",
            "Pending tasks due to be sent to Higgsfield now",
            value=self.gauges.dispatch_queue,
        )
        yield GaugeMetricFamily(
            "hfapi_callback_backlog",
            "Callbacks due now and not delivered yet",
            value=self.gauges.callback_backlog,
        )
        yield GaugeMetricFamily(
            "hfapi_poll_lag_seconds",
            "How long the most overdue status read of a job Higgsfield has has waited (0 when none is due)",
            value=self.gauges.poll_lag_seconds,
        )
