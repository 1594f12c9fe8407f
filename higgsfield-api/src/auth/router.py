"""/api/auth: registration, login, logout, the caller's own client (`/me`) and disabling a client."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from src.auth import service as auth
from src.auth.dependencies import AdminToken, ApiKeyHeader, CurrentKey
from src.auth.schemas import LOGIN_PATTERN, CallbackIn, Credentials, IssuedCredentialsOut, MeOut
from src.web.deps import BlobsDep, SettingsDep
from src.web.responses import ADMIN_REQUIRED, API_KEY_REQUIRED, UNPARSABLE_BODY, error

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post(
    "/registration",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedCredentialsOut,
    dependencies=[AdminToken],
    responses={**UNPARSABLE_BODY, **ADMIN_REQUIRED, 409: error("Login taken")},
)
async def register(body: Credentials) -> IssuedCredentialsOut:
    return await auth.register(body.name, body.password)


@router.post(
    "/login",
    response_model=IssuedCredentialsOut,
    responses={
        **UNPARSABLE_BODY,
        401: error("Unknown login, wrong password or disabled client (one and the same answer)"),
        429: error("Too many failed logins for this login: wait for Retry-After", retry_after=True),
    },
)
async def login(body: Credentials, settings: SettingsDep) -> IssuedCredentialsOut:
    return await auth.login(body.name, body.password, settings)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=API_KEY_REQUIRED,
    summary="Revoke the API key this call is made with",
)
async def logout(api_key: ApiKeyHeader) -> None:
    await auth.revoke_key(api_key)


@router.get(
    "/me",
    response_model=MeOut,
    responses=API_KEY_REQUIRED,
    summary="Who the API key belongs to: login, default callback, rate limit left; never a secret",
)
async def who_am_i(key: CurrentKey, settings: SettingsDep) -> MeOut:
    return await auth.me(key, settings)


@router.put(
    "/me/callback",
    response_model=MeOut,
    responses={**UNPARSABLE_BODY, **API_KEY_REQUIRED},
    summary="Set the callback URL of the tasks created without callback_url",
)
async def set_default_callback(body: CallbackIn, key: CurrentKey, settings: SettingsDep) -> MeOut:
    return await auth.set_default_callback(key, str(body.url), settings)


@router.delete(
    "/me/callback",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=API_KEY_REQUIRED,
    summary="Clear the default callback URL (also when none is set)",
)
async def clear_default_callback(key: CurrentKey) -> None:
    await auth.clear_default_callback(key["client_id"])


@router.post(
    "/clients/{login}/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    dependencies=[AdminToken],
    responses={**ADMIN_REQUIRED, 404: error("No client with this login")},
    summary="Disable a client: all its keys stop working, its pending tasks are canceled",
)
async def disable_client(
    login: Annotated[str, Path(min_length=3, max_length=64, pattern=LOGIN_PATTERN)],
    blobs: BlobsDep,
) -> None:
    await auth.disable_client(login, blobs)
