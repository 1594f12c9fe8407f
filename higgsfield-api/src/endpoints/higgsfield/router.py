"""/api/higgsfield: image-to-video tasks and the motion catalog."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, status
from fastapi.responses import JSONResponse, Response

from src.endpoints.deps import CurrentClientId, JobsDep, OwnTask, SettingsDep
from src.endpoints.higgsfield.encoding import json_response
from src.endpoints.higgsfield.forms import TaskForm, task_form
from src.endpoints.higgsfield.schemas import MotionOut, PublicStatus, TaskOut, TaskPage
from src.endpoints.responses import API_KEY_REQUIRED, NOT_FOUND, RATE_LIMITED, UNPARSABLE_BODY, error
from src.services import motions, task_intake, tasks

router = APIRouter(prefix="/api/higgsfield", tags=["image-to-video"])
I2V = "/i2v"


async def create_task(
    client_id: CurrentClientId,
    form: Annotated[TaskForm, Depends(task_form)],
    settings: SettingsDep,
    jobs: JobsDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Retry safely: the same key within 24 h replays the first answer",
        ),
    ] = None,
) -> JSONResponse:
    intake = await task_intake.take(client_id, await form.to_new_task(settings), settings, idempotency_key)
    if not intake.replayed:
        jobs.submit.nudge()
    headers = {"Location": f"{router.prefix}{I2V}/{intake.body['id']}"}
    if intake.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(intake.body, status_code=intake.status_code, headers=headers)


async def list_tasks(
    client_id: CurrentClientId,
    status_: Annotated[PublicStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    return json_response(await tasks.list_for(client_id, status=status_, limit=limit, cursor=cursor))


CREATE_RESPONSES = {
    **UNPARSABLE_BODY,
    **API_KEY_REQUIRED,
    409: error("Idempotency-Key reused with different fields"),
    413: error("Image too large: at most MAX_IMAGE_BYTES (10 MiB)"),
    415: error("Not a JPEG, PNG or WEBP image"),
    429: RATE_LIMITED,
    503: error("The motion catalog is not loaded yet", retry_after=True),
}


# Routes are matched in the order they are added: the reads clients make most come first.
@router.get(
    I2V + "/{task_id}",
    response_model=TaskOut,
    responses={**API_KEY_REQUIRED, 404: NOT_FOUND},
)
async def get_task(task: OwnTask, task_id: uuid.UUID) -> Response:
    # The OwnTask dependency reads `task_id` itself (with the key, in one query); it is declared
    # here for the schema and for FastAPI's 422 on a malformed id, which comes before this call.
    assert task is not None  # noqa: S101 - None only for a malformed id, answered 422 before
    return json_response(task)


# The path works with and without the final slash, with no redirect.
for path, in_schema in ((f"{I2V}/", True), (I2V, False)):
    router.add_api_route(
        path,
        list_tasks,
        methods=["GET"],
        response_model=TaskPage,
        responses=API_KEY_REQUIRED,
        include_in_schema=in_schema,
        summary="List your tasks, newest first",
    )
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


@router.post(
    I2V + "/{task_id}/cancel",
    response_model=TaskOut,
    responses={
        **API_KEY_REQUIRED,
        404: NOT_FOUND,
        409: error("Higgsfield already has the task, or it is final"),
    },
)
async def cancel_task(client_id: CurrentClientId, task_id: uuid.UUID, jobs: JobsDep) -> dict:
    task = await tasks.cancel(client_id, task_id)
    jobs.callbacks.nudge()
    return task


@router.get("/motions", response_model=list[MotionOut], responses=API_KEY_REQUIRED)
async def list_motions(_client_id: CurrentClientId) -> list[dict]:
    return await motions.list_motions()
