"""/api/higgsfield: image-to-video tasks and the motion catalog."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from src.endpoints.deps import CurrentClientId, JobsDep, SettingsDep
from src.endpoints.higgsfield.forms import TaskForm
from src.endpoints.higgsfield.schemas import MotionOut, PublicStatus, TaskOut, TaskPage
from src.services import motions, tasks

router = APIRouter(prefix="/api/higgsfield", tags=["image-to-video"])
I2V = "/i2v"
AUTH_RESPONSES: dict[int | str, dict] = {401: {"description": "Missing or invalid API key"}}


async def create_task(
    client_id: CurrentClientId,
    form: Annotated[TaskForm, Depends()],
    settings: SettingsDep,
    jobs: JobsDep,
    response: Response,
) -> dict:
    task = await tasks.create(client_id, await form.to_new_task(settings))
    jobs.submit.nudge()
    response.headers["Location"] = f"{router.prefix}{I2V}/{task['id']}"
    return task


async def list_tasks(
    client_id: CurrentClientId,
    status_: Annotated[PublicStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> dict:
    return await tasks.list_for(client_id, status=status_, limit=limit, cursor=cursor)


CREATE_RESPONSES: dict[int | str, dict] = {
    **AUTH_RESPONSES,
    413: {"description": "Image too large"},
    415: {"description": "Not a JPEG, PNG or WEBP image"},
    503: {"description": "The motion catalog is not loaded yet (see Retry-After)"},
}
# The path works with and without the final slash, with no redirect.
for path, in_schema in ((f"{I2V}/", True), (I2V, False)):
    router.add_api_route(
        path,
        create_task,
        methods=["POST"],
        status_code=status.HTTP_202_ACCEPTED,
        response_model=TaskOut,
        responses=CREATE_RESPONSES,
        include_in_schema=in_schema,
        summary="Create an image-to-video task",
    )
    router.add_api_route(
        path,
        list_tasks,
        methods=["GET"],
        response_model=TaskPage,
        responses=AUTH_RESPONSES,
        include_in_schema=in_schema,
        summary="List your tasks, newest first",
    )


@router.get(
    I2V + "/{task_id}",
    response_model=TaskOut,
    responses={**AUTH_RESPONSES, 404: {"description": "No such task"}},
)
async def get_task(client_id: CurrentClientId, task_id: uuid.UUID) -> dict:
    return await tasks.get(client_id, task_id)


@router.get("/motions", response_model=list[MotionOut], responses=AUTH_RESPONSES)
async def list_motions(_client_id: CurrentClientId) -> list[dict]:
    return await motions.list_motions()
