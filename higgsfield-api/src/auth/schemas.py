import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from src.core.strict_input import STRICT_TEXT

LOGIN_PATTERN = r"^[A-Za-z0-9_.@-]+$"


class Credentials(BaseModel):
    login: Annotated[
        str, Field(min_length=3, max_length=64, pattern=LOGIN_PATTERN, examples=["acme-studio"]), STRICT_TEXT
    ]
    password: Annotated[
        str, Field(min_length=8, max_length=128, examples=["correct horse battery"]), STRICT_TEXT
    ]


class IssuedCredentialsOut(BaseModel):
    client_id: uuid.UUID
    login: str
    api_key: str = Field(description="Shown once; store it. Send it as X-API-KEY.")
    webhook_secret: str = Field(description="Verifies the signatures of callbacks (Standard Webhooks).")
