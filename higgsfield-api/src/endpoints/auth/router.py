"""POST /api/auth/registration and /api/auth/login."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, status

from src.endpoints.auth.schemas import Credentials, IssuedCredentialsOut
from src.endpoints.deps import AdminToken
from src.services import auth

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post(
    "/registration",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedCredentialsOut,
    dependencies=[AdminToken],
    responses={
        401: {"description": "Missing or wrong admin token"},
        409: {"description": "Login taken"},
        503: {"description": "ADMIN_TOKEN is not configured"},
    },
)
async def register(body: Credentials) -> dict:
    return asdict(await auth.register(body.login, body.password))


@router.post("/login", response_model=IssuedCredentialsOut, responses={401: {"description": "Invalid login"}})
async def login(body: Credentials) -> dict:
    return asdict(await auth.login(body.login, body.password))
