"""The service's Prometheus metrics, and their rendering for `GET /metrics` (all workers' counts
in multiprocess mode, which `serve` in `src/cli.py` turns on)."""

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED_ROUTE = "<unmatched>"

# The `_created` series (a timestamp per label set) double the exposition for nothing we use.
disable_created_metrics()

http_requests = Counter(
    "hfapi_http_requests_total",
    "HTTP requests answered, by method, route template and status",
    ("method", "route", "status"),
)
http_duration = Histogram(
    "hfapi_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by method, route template and status",
    ("method", "route", "status"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
upstream_calls = Counter(
    "hfapi_upstream_requests_total",
    "Calls to Higgsfield by endpoint (upload_url, put, motions, dop, job_set) and outcome "
    "(ok, transient, permanent, concurrency_cap)",
    ("endpoint", "outcome"),
)
upstream_duration = Histogram(
    "hfapi_upstream_request_duration_seconds",
    "Duration of calls to Higgsfield, by endpoint and outcome",
    ("endpoint", "outcome"),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
upstream_refusals = Counter(
    "hfapi_upstream_refusals_total",
    "Calls Higgsfield refused with 401 or 403 (the account's key, secret or access), by endpoint and status",
    ("endpoint", "status"),
)
callback_attempts = Counter(
    "hfapi_callback_attempts_total",
    "Callback deliveries tried, by outcome (delivered, retrying, given_up, refused: an address not allowed)",
    ("outcome",),
)
tasks_given_up = Counter(
    "hfapi_tasks_given_up_total",
    "Tasks the service ended as failed itself, by reason (run_deadline, submit_deadline, unknown_outcome)",
    ("reason",),
)

# Every label set an alert watches with increase() starts at 0: a series born at its first event
# would hide that event from increase() (it has no earlier sample to compare with).
for _endpoint in ("upload_url", "put", "motions", "dop", "job_set", "cancel"):
    for _status in ("401", "403"):
        upstream_refusals.labels(_endpoint, _status)
for _outcome in ("delivered", "retrying", "given_up", "refused"):
    callback_attempts.labels(_outcome)
for _reason in ("run_deadline", "submit_deadline", "unknown_outcome"):
    tasks_given_up.labels(_reason)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    http_requests.labels(method, route, str(status)).inc()
    http_duration.labels(method, route, str(status)).observe(seconds)


def observe_upstream(endpoint: str, outcome: str, seconds: float) -> None:
    upstream_calls.labels(endpoint, outcome).inc()
    upstream_duration.labels(endpoint, outcome).observe(seconds)


def observe_upstream_refusal(endpoint: str, status: int) -> None:
    upstream_refusals.labels(endpoint, str(status)).inc()


def observe_given_up(reason: str, count: int) -> None:
    tasks_given_up.labels(reason).inc(count)


def render(extra: Collector | None = None) -> bytes:
    """This process's metrics (or all workers' in multiprocess mode), then `extra`'s."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    return generate_latest(registry) + (generate_latest(extra) if extra else b"")
