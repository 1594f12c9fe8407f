import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from src.core.strict_input import STRICT_TEXT
from src.tasks.schemas import CallbackUrl

LOGIN_PATTERN = r"^[A-Za-z0-9_.@-]+$"
Login = Annotated[
    str, Field(min_length=3, max_length=64, pattern=LOGIN_PATTERN, examples=["acme-studio"]), STRICT_TEXT
]


class Credentials(BaseModel):
    """A login and its password; `username` is accepted as a synonym of `login` (one of the two)."""

    login: Login | None = None
    username: Annotated[Login | None, Field(description="A synonym of login: send one of the two")] = None
    password: Annotated[
        str, Field(min_length=8, max_length=128, examples=["correct horse battery"]), STRICT_TEXT
    ]

    @model_validator(mode="after")
    def one_login(self) -> Self:
        if self.login is not None and self.username is not None:
            raise PydanticCustomError(
                "value_error", "login and username are synonyms: send one of them, not both"
            )
        name = self.login if self.login is not None else self.username
        if name is None:
            raise PydanticCustomError("missing", "login is required (or its synonym username)")
        self.login = name
        return self

    @property
    def name(self) -> str:
        """The login, whichever of the two fields carried it."""
        return str(self.login)


class IssuedCredentialsOut(BaseModel):
    client_id: uuid.UUID
    login: str
    api_key: str = Field(description="Shown once; store it. Send it as X-API-KEY.")
    webhook_secret: str = Field(description="Verifies the signatures of callbacks (Standard Webhooks).")


def _given(url: str | None) -> str:
    if url is None:
        raise ValueError("url must be an http(s) URL; DELETE /api/auth/me/callback clears the default")
    return url


class CallbackIn(BaseModel):
    """The client's default callback URL: the rules of a task's `callback_url`."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[
        CallbackUrl,
        AfterValidator(_given),
        WithJsonSchema({"type": "string", "maxLength": 2048, "examples": ["https://example.com/hooks/hf"]}),
    ]


class RateLimitOut(BaseModel):
    per_minute: int = Field(description="Task creations (retries included) allowed a minute")
    remaining: int = Field(description="Creations left in the current minute")
    resets_in_seconds: int = Field(description="Seconds until the oldest counted creation leaves the minute")


class MeOut(BaseModel):
    """Who the API key belongs to; never a secret."""

    client_id: uuid.UUID
    login: str
    created_at: datetime
    callback_url: str | None = Field(description="The callback URL of tasks created without one")
    key_issued_at: datetime = Field(description="When the API key of this call was issued")
    rate_limit: RateLimitOut
