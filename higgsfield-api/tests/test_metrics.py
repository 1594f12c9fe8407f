"""GET /metrics: the metric names and labels, after real requests and a task's trip upstream."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from src.core.clock import utcnow
from src.db.models import Task, TaskStatus
from tests.support.app import HEALTH_UUID, eventually
from tests.support.images import png
from tests.support.processes import SERVICE_DIR
from tests.support.receiver import Answer

I2V = "/api/higgsfield/i2v/"
FAMILIES = {
    "hfapi_http_requests": "counter",
    "hfapi_http_request_duration_seconds": "histogram",
    "hfapi_upstream_requests": "counter",
    "hfapi_upstream_request_duration_seconds": "histogram",
    "hfapi_tasks": "gauge",
    "hfapi_oldest_active_task_age_seconds": "gauge",
    "hfapi_dispatch_queue_length": "gauge",
    "hfapi_callback_backlog": "gauge",
    "hfapi_poll_lag_seconds": "gauge",
    "hfapi_upstream_refusals": "counter",
    "hfapi_callback_attempts": "counter",
    "hfapi_tasks_given_up": "counter",
}


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


async def test_metrics_name_requests_by_route_template_tasks_and_upstream_calls(service, api_key):
    headers = {"X-API-KEY": api_key}
    created = await service.client.post(I2V, headers=headers, files={"image": ("a.png", png(), "image/png")})
    task_id = created.json()["id"]
    assert (await service.client.get(f"{I2V}{task_id}", headers=headers)).status_code == 200
    assert (await service.client.get("/no/such/path")).status_code == 404
    assert (await service.client.get(f"/health/{HEALTH_UUID}")).status_code == 200

    async def job_set_read() -> bool:
        return service.fake.job_set_reads > 0

    await eventually(job_set_read, what="the poller to read the task's job set")

    answer = await service.client.get("/metrics")  # no API key: the scraper has none
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {family.name: family.type for family in text_string_to_metric_families(answer.text)}
    assert {name: families.get(name) for name in FAMILIES} == FAMILIES

    found = samples(answer.text)
    http = {
        (labels["method"], labels["route"], labels["status"])
        for name, labels, _ in found
        if name == "hfapi_http_requests_total"
    }
    assert ("POST", I2V, "202") in http
    assert ("GET", "/api/higgsfield/i2v/{task_id}", "200") in http
    assert ("GET", "<unmatched>", "404") in http
    assert ("GET", "/health/{check_id}", "200") in http
    assert HEALTH_UUID not in answer.text and task_id not in answer.text  # templates, never raw paths

    upstream = {
        (labels["endpoint"], labels["outcome"])
        for name, labels, _ in found
        if name == "hfapi_upstream_requests_total"
    }
    assert {
        ("upload_url", "ok"),
        ("put", "ok"),
        ("dop", "ok"),
        ("job_set", "ok"),
    } <= upstream
    assert any(name == "hfapi_upstream_request_duration_seconds_bucket" for name, _, _ in found)

    by_status = {labels["status"]: value for name, labels, value in found if name == "hfapi_tasks"}
    assert set(by_status) >= {"pending", "queued", "in_progress", "completed", "failed", "nsfw", "canceled"}
    assert sum(by_status.values()) == await Task.all().count() == 1


async def metric(service, name: str, **labels: str) -> float:
    """One series' value in /metrics now (these counters are per process: compare before/after)."""
    text = (await service.client.get("/metrics")).text
    return sum(
        value
        for found, found_labels, value in samples(text)
        if found == name and all(found_labels.get(k) == v for k, v in labels.items())
    )


async def create(service, api_key: str, **data: str) -> str:
    response = await service.client.post(
        I2V, headers={"X-API-KEY": api_key}, files={"image": ("a.png", png(), "image/png")}, data=data
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def until_status(service, api_key: str, task_id: str, *statuses: str) -> dict:
    async def reached() -> dict | None:
        task = (await service.client.get(f"{I2V}{task_id}", headers={"X-API-KEY": api_key})).json()
        return task if task["status"] in statuses else None

    return await eventually(reached, what=f"task {task_id} to be {' or '.join(statuses)}")


async def test_higgsfield_refusing_the_account_is_counted_by_endpoint_and_status(service, api_key):
    series = {"endpoint": "dop", "status": "403"}
    before = await metric(service, "hfapi_upstream_refusals_total", **series)
    service.fake.fail_next("dop", [403], detail="Not enough credits")
    task_id = await create(service, api_key)

    async def paused() -> bool:
        return await metric(service, "hfapi_account_state", account="default", state="paused") == 1

    await eventually(paused, what="the account to be paused")
    assert await metric(service, "hfapi_upstream_refusals_total", **series) == before + 1
    # A refusal is still a permanent outcome among the calls.
    assert await metric(service, "hfapi_upstream_requests_total", endpoint="dop", outcome="permanent") >= 1
    # The account is paused, not the task failed: it waits for an account that takes it.
    assert (await Task.get(id=task_id)).status == TaskStatus.PENDING
    assert await metric(service, "hfapi_account_slots", account="default", slots="free") == 0


async def test_callback_attempts_are_counted_by_outcome(service, api_key, receiver):
    before = {
        outcome: await metric(service, "hfapi_callback_attempts_total", outcome=outcome)
        for outcome in ("delivered", "retrying", "given_up")
    }
    receiver.answer(Answer(500))
    task_id = await create(service, api_key, callback_url=receiver.hook_url)

    async def delivered() -> bool:
        task = (await service.client.get(f"{I2V}{task_id}", headers={"X-API-KEY": api_key})).json()
        return bool(task["callback"] and task["callback"]["delivered"])

    await eventually(delivered, what="the callback, on its second attempt")
    after = {
        outcome: await metric(service, "hfapi_callback_attempts_total", outcome=outcome) for outcome in before
    }
    assert {outcome: after[outcome] - before[outcome] for outcome in before} == {
        "delivered": 1,
        "retrying": 1,
        "given_up": 0,
    }


async def test_a_task_past_its_run_deadline_is_counted_as_given_up(service, api_key):
    service.fake.settings.reads_per_step = None  # the job stays queued upstream
    before = await metric(service, "hfapi_tasks_given_up_total", reason="run_deadline")
    task_id = await create(service, api_key)
    await until_status(service, api_key, task_id, "queued")
    # Sent longer ago than TASK_RUN_DEADLINE (6 hours by default).
    await Task.filter(id=task_id).update(submitted_at=utcnow() - timedelta(hours=7))
    task = await until_status(service, api_key, task_id, "failed")
    assert "TASK_RUN_DEADLINE" in task["error"]
    assert await metric(service, "hfapi_tasks_given_up_total", reason="run_deadline") == before + 1


async def test_the_poll_lag_is_how_late_the_most_overdue_read_is(service, api_key):
    service.fake.settings.reads_per_step = None
    task_id = await create(service, api_key)
    await until_status(service, api_key, task_id, "queued")
    service.state["jobs"].scheduler.pause()  # no poll round reads it from here on
    # The next read is not due yet: no lag.
    await Task.filter(id=task_id).update(next_attempt_at=utcnow() + timedelta(minutes=1))
    assert await metric(service, "hfapi_poll_lag_seconds") == 0
    # Due two minutes ago, and a pending task due long before does not count (nothing to read).
    await Task.filter(id=task_id).update(next_attempt_at=utcnow() - timedelta(minutes=2))
    other = await create(service, api_key)
    await Task.filter(id=other).update(
        status=TaskStatus.PENDING, next_attempt_at=utcnow() - timedelta(hours=1)
    )
    lag = await metric(service, "hfapi_poll_lag_seconds")
    assert 120 <= lag < 3600


async def test_metrics_are_left_out_of_the_openapi_schema(service):
    assert "/metrics" not in service.app.openapi()["paths"]


def test_several_workers_add_up_in_the_multiprocess_directory(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR set, what two processes counted comes out summed."""
    script = (
        "from src.metrics import prometheus as metrics\n"
        "metrics.observe_request('GET', '/x', 200, 0.01)\n"
        "import sys; sys.stdout.buffer.write(metrics.render())\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    runs = [
        subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", script],
            cwd=SERVICE_DIR,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        for _ in range(3)
    ]
    last = runs[-1]
    counts = [
        value
        for name, labels, value in samples(last.stdout)
        if name == "hfapi_http_requests_total" and labels["route"] == "/x"
    ]
    assert counts == [3.0]
