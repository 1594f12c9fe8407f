"""/api/higgsfield: image-to-video tasks and the motion catalog."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from src.auth import service as auth
from src.auth.dependencies import API_KEY, ApiKeyHeader, CurrentClientId
from src.core.task_context import working_on
from src.jobs.registry import Jobs
from src.tasks import retries
from src.tasks import service as tasks
from src.tasks.forms import TaskForm, idempotency_key_rule, task_form
from src.tasks.schemas import PublicStatus, TaskOut, TaskOverrides, TaskPage
from src.tasks.service import NewTask
from src.web.deps import AccountsDep, BlobsDep, JobsDep, SettingsDep
from src.web.responses import API_KEY_REQUIRED, NOT_FOUND, RATE_LIMITED, UNPARSABLE_BODY, error

router = APIRouter(prefix="/api/higgsfield", tags=["image-to-video"])
I2V = "/i2v"
DEFAULT_LIMIT = 20


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retry safely: the same key within 24 h replays the first answer",
    ),
    AfterValidator(idempotency_key_rule),
]


def _new_task_answer(jobs: Jobs, status_code: int, body: dict[str, Any], replayed: bool) -> JSONResponse:
    """The answer to a create or a retry: the task and where to read it; a new one is sent at once."""
    if not replayed:
        jobs.submit.nudge()
    headers = {"Location": f"{router.prefix}{I2V}/{body['id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=status_code, headers=headers)


async def create_task(
    client_id: CurrentClientId,
    form: Annotated[TaskForm, Depends(task_form)],
    settings: SettingsDep,
    jobs: JobsDep,
    blobs: BlobsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    new = await form.to_new_task(settings)

    async def built() -> NewTask:
        return new

    key = None if idempotency_key is None else (idempotency_key, form.fingerprint(new))
    answer = await tasks.take(client_id, built, settings, blobs, key, created_status=status.HTTP_202_ACCEPTED)
    return _new_task_answer(jobs, *answer)


async def list_tasks(
    api_key: ApiKeyHeader,
    status_: Annotated[PublicStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    return await tasks.list_with_key(api_key, status=status_, limit=limit, cursor=cursor)


CREATE_RESPONSES = {
    **UNPARSABLE_BODY,
    **API_KEY_REQUIRED,
    409: error("Idempotency-Key reused with different fields"),
    413: error("Image too large: at most MAX_IMAGE_BYTES (10 MiB)"),
    415: error("Not a JPEG, PNG or WEBP image"),
    429: RATE_LIMITED,
    503: error("The motion catalog is not loaded yet", retry_after=True),
}


async def get_task(task_id: uuid.UUID, api_key: ApiKeyHeader) -> dict[str, Any]:
    working_on(task_id)
    return await tasks.get_with_key(api_key, task_id)


async def key_before_422(request: Request) -> None:
    """Called before every 422: the task GET and the list check the key only in the query that reads
    the tasks (after FastAPI validated the path and query, and after the cursor is decoded), so a
    missing or bad key must be a 401 before any 422 there too."""
    if getattr(request.scope.get("route"), "endpoint", None) in (get_task, list_tasks):
        await auth.authenticate(request.headers.get(API_KEY))


# Routes are matched in the order they are added: the reads clients make most come first.
router.add_api_route(
    I2V + "/{task_id}",
    get_task,
    methods=["GET"],
    response_model=TaskOut,
    responses={**API_KEY_REQUIRED, 404: NOT_FOUND},
)


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
    I2V + "/{task_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskOut,
    responses={
        **UNPARSABLE_BODY,
        **API_KEY_REQUIRED,
        404: NOT_FOUND,
        409: error(
            "The task has not ended; or its image is gone (create a new task with it); "
            "or Idempotency-Key reused with another request"
        ),
        429: RATE_LIMITED,
        503: error(
            "Higgsfield could not be reached to check that it still has the image, or the motion "
            "catalog is not loaded yet",
            retry_after=True,
        ),
    },
    summary="Retry an ended task: a new task from its fields (some replaced) and its image",
)
async def retry_task(
    client_id: CurrentClientId,
    task_id: uuid.UUID,
    settings: SettingsDep,
    jobs: JobsDep,
    blobs: BlobsDep,
    accounts: AccountsDep,
    overrides: Annotated[TaskOverrides | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    working_on(task_id)
    answer = await retries.retry(
        client_id,
        task_id,
        overrides,
        settings,
        blobs,
        accounts,
        idempotency_key,
        created_status=status.HTTP_202_ACCEPTED,
    )
    return _new_task_answer(jobs, *answer)


@router.post(
    I2V + "/{task_id}/cancel",
    response_model=TaskOut,
    responses={
        **API_KEY_REQUIRED,
        404: NOT_FOUND,
        409: error("Higgsfield has started the task (or its API cannot cancel), or it is final"),
        503: error("Higgsfield could not be reached to cancel the task: try again", retry_after=True),
    },
)
async def cancel_task(
    client_id: CurrentClientId, task_id: uuid.UUID, jobs: JobsDep, accounts: AccountsDep, blobs: BlobsDep
) -> dict:
    task = await tasks.cancel(client_id, task_id, accounts, blobs)
    jobs.submit.nudge()  # a canceled job frees its Higgsfield slot
    jobs.callbacks.nudge()
    return task
