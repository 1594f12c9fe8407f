"""The task gauges, read from the database when Prometheus scrapes: tasks change in several
processes, and one GROUP BY over the status index is cheap at scrape intervals."""

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from tortoise.functions import Count, Min

from src.callbacks.delivery import due_filter
from src.core.clock import utcnow
from src.db.models import FINAL_STATUSES, UPSTREAM_STATUSES, Task, TaskStatus


@dataclass
class TaskGauges(Collector):
    families: list[GaugeMetricFamily]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return iter(self.families)


async def read_task_gauges() -> TaskGauges:
    now = utcnow()
    rows = (
        await Task.annotate(n=Count("id"), oldest=Min("created_at"))
        .group_by("status")
        .values("status", "n", "oldest")
    )
    by_status = {status.value: 0 for status in TaskStatus} | {row["status"]: row["n"] for row in rows}
    active = [row["oldest"] for row in rows if row["status"] not in FINAL_STATUSES and row["oldest"]]
    # The most overdue read of a job Higgsfield has: the poller is behind by this much.
    overdue = (
        await Task.filter(status__in=list(UPSTREAM_STATUSES), next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .limit(1)
        .values_list("next_attempt_at", flat=True)
    )
    tasks = GaugeMetricFamily(
        "hfapi_tasks", "Tasks by status (submitting: being sent now)", labels=["status"]
    )
    for status, count in sorted(by_status.items()):
        tasks.add_metric([status], count)
    return TaskGauges(
        [
            tasks,
            GaugeMetricFamily(
                "hfapi_oldest_active_task_age_seconds",
                "Age of the oldest task that is not final yet (0 when there is none)",
                value=max(0.0, (now - min(active)).total_seconds()) if active else 0.0,
            ),
            GaugeMetricFamily(
                "hfapi_dispatch_queue_length",
                "Pending tasks due to be sent to Higgsfield now",
                value=await Task.filter(status=TaskStatus.PENDING, next_attempt_at__lte=now).count(),
            ),
            GaugeMetricFamily(
                "hfapi_callback_backlog",
                "Callbacks due now and not delivered yet",
                value=await Task.filter(due_filter(now)).count(),
            ),
            GaugeMetricFamily(
                "hfapi_poll_lag_seconds",
                "How long the most overdue status read of a job Higgsfield has has waited"
                " (0 when none is due)",
                value=max(0.0, (now - overdue[0]).total_seconds()) if overdue else 0.0,
            ),
        ]
    )
