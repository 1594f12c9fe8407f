"""GET /metrics: Prometheus text format, out of the OpenAPI schema and, like most exporters, not
behind authentication (docs/operations.md, "Metrics", says why that is safe)."""

from fastapi import APIRouter, Response

from src.metrics import prometheus as metrics
from src.metrics.task_gauges import read_task_gauges
from src.web.deps import AccountsDep

router = APIRouter(tags=["observability"])


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(accounts: AccountsDep) -> Response:
    gauges = await read_task_gauges(await accounts.statuses())
    return Response(metrics.render(gauges), media_type=metrics.CONTENT_TYPE)
