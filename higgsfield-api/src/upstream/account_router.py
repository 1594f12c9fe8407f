"""GET /api/admin/accounts: the Higgsfield accounts, their slots and their health (admin token)."""

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from src.auth.dependencies import AdminToken
from src.web.deps import AccountsDep
from src.web.responses import ADMIN_REQUIRED

router = APIRouter(prefix="/api/admin", tags=["admin"])


class AccountOut(BaseModel):
    """One account as configured and as it is now; never its key or secret."""

    name: str
    api_version: Literal["v1", "v2"] = Field(description="The API generation its new tasks are sent with")
    max_concurrency: int = Field(
        description="Its cap: at most this many of its tasks with Higgsfield at once"
    )
    busy: int = Field(description="Its slots taken: tasks being sent or with Higgsfield")
    free: int = Field(description="Slots new tasks may take now (0 while paused or retired)")
    state: Literal["active", "paused", "retired"] = Field(
        description="paused: Higgsfield refused it (401, 403); retired: follows its tasks, takes no new one"
    )
    paused_at: datetime | None = Field(description="When it was paused (while it is)")
    last_error: str | None = Field(description="Higgsfield's last refusal of it, kept once it works again")
    last_error_at: datetime | None


class AccountsOut(BaseModel):
    accounts: list[AccountOut]


@router.get(
    "/accounts",
    response_model=AccountsOut,
    dependencies=[AdminToken],
    responses=ADMIN_REQUIRED,
    summary="The Higgsfield accounts: cap, busy slots, state and last error of each",
)
async def list_accounts(accounts: AccountsDep) -> AccountsOut:
    return AccountsOut(
        accounts=[
            AccountOut.model_validate(status, from_attributes=True) for status in await accounts.statuses()
        ]
    )
