"""GET /api/higgsfield/motions: the motion names a task may ask for."""

from fastapi import APIRouter

from src.auth.dependencies import CurrentClientId
from src.motions import service as motions
from src.motions.schemas import MotionOut
from src.web.responses import API_KEY_REQUIRED

router = APIRouter(prefix="/api/higgsfield", tags=["image-to-video"])


@router.get("/motions", response_model=list[MotionOut], responses=API_KEY_REQUIRED)
async def list_motions(_client_id: CurrentClientId) -> list[dict]:
    return await motions.list_motions()
