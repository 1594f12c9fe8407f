"""GET /metrics: Prometheus text format, for the operator's scraper.

Not behind authentication, like most exporters: it shows counts, durations and route
templates, never a key, a task's content or a raw path. Keep it off the public internet
(or behind the proxy's own rule) as any /metrics. Left out of the OpenAPI schema: it is
not part of the clients' API.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from src.metrics import prometheus as metrics
from src.metrics.task_gauges import TaskGaugeCollector, read_task_gauges

router = APIRouter(tags=["observability"])


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    gauges = await read_task_gauges()
    return Response(metrics.render(TaskGaugeCollector(gauges)), media_type=metrics.CONTENT_TYPE)
