"""GET /metrics: the metric names and labels, after real requests and a task's trip upstream."""

from __future__ import annotations

import os
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

from src.db.models import Task
from tests.support.app import HEALTH_UUID, eventually
from tests.support.images import png
from tests.support.processes import SERVICE_DIR

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
