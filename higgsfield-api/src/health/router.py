"""GET /health/{uuid}: the database and the scheduler, behind a secret path segment."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from src.core.config import reveal
from src.core.errors import NotFound
from src.core.security import same_secret
from src.health.service import check_database
from src.web.deps import JobsDep, SettingsDep

router = APIRouter(tags=["health"])


@router.get("/health/{check_id}", include_in_schema=False)
async def health(check_id: str, settings: SettingsDep, jobs: JobsDep) -> JSONResponse:
    if not same_secret(check_id, reveal(settings.uuid_test_check)):
        raise NotFound("Not Found")
    database = await check_database()
    scheduler = "running" if jobs.running else "stopped"
    ok = database == "ok" and scheduler == "running"
    body = {"status": "ok" if ok else "degraded", "database": database, "scheduler": scheduler}
    return JSONResponse(body, status_code=200 if ok else 503)
