"""The task GET on the seed's original design, measured beside the service's own.

FastAPI and Tortoise as the first version of the service used them: a dependency reads the
caller's API key (one model read, and its last use written at most once a minute), then the
route reads the task of that client (a second model read) and returns it for FastAPI to
validate against TaskOut. Same models, same database (the service's, from the same settings),
same Uvicorn settings as the service; only `GET /api/higgsfield/i2v/{task_id}`, and `/one-query`
(one `SELECT 1` through the ORM: the floor of any route that reads the database).

    python -m bench.seed_app PORT
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Security
from fastapi.security import APIKeyHeader
from tortoise import connections

from bench.baseline_app import serve
from src.core import security
from src.core.clock import utcnow
from src.core.config import Settings
from src.db.models import ApiKey, Task
from src.db.orm import register_orm
from src.outputs import schemas as outputs
from src.tasks.schemas import TaskOut

LAST_USED_RESOLUTION = timedelta(minutes=1)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with register_orm(Settings()):
        yield


app = FastAPI(lifespan=lifespan)
api_key_header = APIKeyHeader(name="X-API-KEY", auto_error=False)


async def current_client_id(api_key: Annotated[str | None, Security(api_key_header)]) -> uuid.UUID:
    key = await ApiKey.get_or_none(
        key_hash=security.hash_api_key(api_key or ""), revoked_at=None, client__disabled_at=None
    )
    if key is None:
        raise HTTPException(401, "Missing or invalid API key")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        await ApiKey.filter(id=key.id).update(last_used_at=now)
    return key.client_id  # type: ignore[attr-defined]


@app.get("/api/higgsfield/i2v/{task_id}", response_model=TaskOut)
async def get_task(client_id: Annotated[uuid.UUID, Depends(current_client_id)], task_id: uuid.UUID) -> Any:
    task = await Task.get_or_none(id=task_id, client_id=client_id)
    if task is None:
        raise HTTPException(404, "Task not found")
    callback = {
        "url": task.callback_url,
        "delivered": task.callback_delivered,
        "attempts": task.callback_attempts,
        "last_status": task.callback_last_status,
    }
    copy = {name: getattr(task, name) for name in ("id", "thumbnail_url", *outputs.COLUMNS)}
    return {
        **{name: getattr(task, name) for name in TaskOut.model_fields if name not in ("callback", "output")},
        "status": "pending" if task.status == "submitting" else task.status,
        "callback": callback if task.callback_url else None,
        "output": outputs.shown(copy),
    }


@app.get("/one-query")
async def one_query() -> dict[str, Any]:
    """The least a database-backed route can do: one trivial query through the ORM's connection."""
    rows = await connections.get("default").execute_query_dict("SELECT 1 AS one")
    return rows[0]


@app.get("/ready")
async def ready() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    serve("bench.seed_app:app")  # the service's Uvicorn settings, as the baseline's


if __name__ == "__main__":
    main()
