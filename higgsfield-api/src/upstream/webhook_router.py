"""POST /api/higgsfield/webhook: Higgsfield's call when a job ends (optional)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response, status

from src.upstream import webhooks
from src.web.deps import BlobsDep, JobsDep, SettingsDep

router = APIRouter(prefix="/api/higgsfield", tags=["image-to-video"])


@router.post(
    "/webhook",
    status_code=status.HTTP_204_NO_CONTENT,
    include_in_schema=False,  # called by Higgsfield, not by clients
)
async def higgsfield_webhook(
    settings: SettingsDep,
    jobs: JobsDep,
    blobs: BlobsDep,
    payload: Annotated[Any, Body()] = None,
    secret: Annotated[str | None, Header(alias="X-Webhook-Secret-Key")] = None,
    task: Annotated[str | None, Query(max_length=64)] = None,
    token: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    if await webhooks.called(settings, blobs, webhooks.WebhookCall(secret, task, token, payload)):
        jobs.poll.nudge()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
