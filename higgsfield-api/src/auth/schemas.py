from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from src.core.strict_input import StrictText

LOGIN_PATTERN = r"^[A-Za-z0-9_.@-]+$"


class Credentials(BaseModel):
    login: StrictText = Field(min_length=3, max_length=64, pattern=LOGIN_PATTERN, examples=["acme-studio"])
    password: StrictText = Field(min_length=8, max_length=128, examples=["correct horse battery"])


class IssuedCredentialsOut(BaseModel):
    client_id: uuid.UUID
    login: str
    api_key: str = Field(description="Shown once; store it. Send it as X-API-KEY.")
    webhook_secret: str = Field(description="Verifies the signatures of callbacks (Standard Webhooks).")
