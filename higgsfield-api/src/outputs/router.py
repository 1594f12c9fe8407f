"""GET /api/higgsfield/i2v/{task_id}/video and /thumbnail: the gateway's copy, for the owning client."""

import uuid

from fastapi import APIRouter, Response

from src.auth.dependencies import CurrentClientId
from src.outputs import service
from src.outputs.schemas import KINDS, TASK_PATH
from src.web.deps import BlobsDep, SettingsDep
from src.web.responses import API_KEY_REQUIRED, NOT_FOUND, error

router = APIRouter(tags=["image-to-video"])


def _responses(media_type: str) -> dict:
    return {
        200: {"description": "The file; a Range request is answered 206", "content": {media_type: {}}},
        307: {"description": "With an S3 blob store: a redirect to a presigned URL valid 5 minutes"},
        **API_KEY_REQUIRED,
        404: NOT_FOUND,
        409: error("No copy to serve: not completed, being copied (Retry-After), failed, expired or off"),
    }


@router.get(f"{TASK_PATH}/video", responses=_responses(KINDS["video"][1]), response_class=Response)
async def get_video(
    client_id: CurrentClientId, task_id: uuid.UUID, settings: SettingsDep, blobs: BlobsDep
) -> Response:
    """The gateway's copy of the task's video."""
    return await service.serve(client_id, task_id, "video", settings, blobs)


@router.get(f"{TASK_PATH}/thumbnail", responses=_responses(KINDS["thumbnail"][1]), response_class=Response)
async def get_thumbnail(
    client_id: CurrentClientId, task_id: uuid.UUID, settings: SettingsDep, blobs: BlobsDep
) -> Response:
    """The gateway's copy of the task's thumbnail (404 when the task has none)."""
    return await service.serve(client_id, task_id, "thumbnail", settings, blobs)
