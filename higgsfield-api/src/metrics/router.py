"""GET /metrics: Prometheus text format, for the operator's scraper, out of the OpenAPI schema.

Not behind authentication, like most exporters: it shows counts, durations and route templates,
never a key, a task's content or a raw path. Keep it off the public internet, as any /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from src.metrics import prometheus as metrics
from src.metrics.task_gauges import read_task_gauges

router = APIRouter(tags=["observability"])


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    return Response(metrics.render(await read_task_gauges()), media_type=metrics.CONTENT_TYPE)
