"""The task gauges, read from the database when Prometheus scrapes: tasks change in several
processes, and one GROUP BY over the status index is cheap at scrape intervals. The accounts'
slots and states come with them (read by `Accounts.statuses`, from the same tables)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from tortoise.functions import Count, Min

from src.callbacks.delivery import due_filter
from src.core.clock import utcnow
from src.db.models import FINAL_STATUSES, UPSTREAM_STATUSES, Task, TaskStatus

if TYPE_CHECKING:
    from src.upstream.accounts import AccountStatus

ACCOUNT_STATES = ("active", "paused", "retired")


@dataclass
class TaskGauges(Collector):
    families: list[GaugeMetricFamily]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return iter(self.families)


def account_gauges(accounts: list[AccountStatus]) -> list[GaugeMetricFamily]:
    slots = GaugeMetricFamily(
        "hfapi_account_slots",
        "Each Higgsfield account's slots: busy (tasks being sent or with Higgsfield) and free (0 while "
        "paused or retired)",
        labels=["account", "slots"],
    )
    states = GaugeMetricFamily(
        "hfapi_account_state",
        "Each Higgsfield account's state: 1 for the one it is in (paused: Higgsfield refused it)",
        labels=["account", "state"],
    )
    for account in accounts:
        slots.add_metric([account.name, "busy"], account.busy)
        slots.add_metric([account.name, "free"], account.free)
        for state in ACCOUNT_STATES:
            states.add_metric([account.name, state], int(account.state == state))
    return [slots, states]


async def read_task_gauges(accounts: list[AccountStatus]) -> TaskGauges:
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
            *account_gauges(accounts),
        ]
    )
