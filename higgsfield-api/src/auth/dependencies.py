"""The callers' credentials as dependencies: a client's API key, the admin token."""

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from src.auth import service as auth
from src.core.config import reveal
from src.core.errors import ServiceUnavailable, Unauthorized
from src.core.security import same_secret
from src.web.deps import SettingsDep

API_KEY = "X-API-KEY"
# One "ApiKey" scheme in OpenAPI, whichever of the classes below a route depends on.
API_KEY_SCHEME = dict(name=API_KEY, scheme_name="ApiKey", auto_error=False, description="A client's API key")


class ClientKey(APIKeyHeader):
    """The X-API-KEY scheme, whose dependency is the authenticated client's id. The key check is the
    scheme's own call: as a separate dependency under the header's, it would cost FastAPI a second
    round of dependency solving on every call."""

    async def __call__(self, request: Request) -> uuid.UUID:  # type: ignore[override]
        return await auth.authenticate(request.headers.get(API_KEY))


class LiveKey(APIKeyHeader):
    """The X-API-KEY scheme, whose dependency is the key in use (`auth.live_key`): for the calls about
    the key or its client themselves."""

    async def __call__(self, request: Request) -> dict[str, Any]:  # type: ignore[override]
        return await auth.live_key(request.headers.get(API_KEY))


# Distinct scheme names: both would otherwise be "APIKeyHeader" in OpenAPI, and one would hide the other.
api_key_header = APIKeyHeader(**API_KEY_SCHEME)
admin_token_header = APIKeyHeader(
    name="X-ADMIN-TOKEN", scheme_name="AdminToken", auto_error=False, description="The admin token"
)
ApiKeyHeader = Annotated[str | None, Security(api_key_header)]
CurrentClientId = Annotated[uuid.UUID, Security(ClientKey(**API_KEY_SCHEME))]
CurrentKey = Annotated[dict[str, Any], Security(LiveKey(**API_KEY_SCHEME))]


async def require_admin(
    settings: SettingsDep, token: Annotated[str | None, Security(admin_token_header)]
) -> None:
    if not settings.admin_token:
        raise ServiceUnavailable("Admin calls are disabled: ADMIN_TOKEN is not configured")
    if not same_secret(token, reveal(settings.admin_token)):
        raise Unauthorized("Missing or invalid admin token")


AdminToken = Depends(require_admin)
