"""GET /health/{uuid}: the database, the scheduler and the Higgsfield accounts, behind a secret
path segment. A paused account is named; the service is degraded only when every account that
takes new tasks is paused (nothing can be sent)."""

import asyncio
import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from src.core.config import reveal
from src.core.errors import NotFound
from src.core.security import same_secret
from src.db.models import Motion
from src.web.deps import AccountsDep, JobsDep, SettingsDep

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
DB_CHECK_TIMEOUT_SECONDS = 3.0


async def check_database() -> str:
    """ "ok", or a short reason; reads a real table so a missing schema counts as down."""
    try:
        await asyncio.wait_for(Motion.all().limit(1).values_list("id"), DB_CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # any driver error means the database is not usable
        logger.warning("Health check: the database is not reachable: %s", type(exc).__name__)
        return "unreachable"
    return "ok"


@router.get("/health/{check_id}", include_in_schema=False)
async def health(check_id: str, settings: SettingsDep, jobs: JobsDep, accounts: AccountsDep) -> JSONResponse:
    if not same_secret(check_id, reveal(settings.uuid_test_check)):
        raise NotFound("Not Found")
    database = await check_database()
    scheduler = "running" if jobs.running else "stopped"
    states = {status.name: status.state for status in await accounts.statuses()} if database == "ok" else {}
    taking = [state for state in states.values() if state != "retired"]
    all_paused = bool(taking) and all(state == "paused" for state in taking)
    ok = database == "ok" and scheduler == "running" and not all_paused
    body = {
        "status": "ok" if ok else "degraded",
        "database": database,
        "scheduler": scheduler,
        "accounts": states,
    }
    return JSONResponse(body, status_code=200 if ok else 503)
