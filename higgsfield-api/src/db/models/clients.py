"""Registered clients and their API keys."""

from typing import Any

from tortoise import fields
from tortoise.models import Model


def login_key(login: str) -> str:
    """Logins are matched without regard to case; being ASCII, as SQL's LOWER() (migration 0005)."""
    return login.lower()


class Client(Model):
    id = fields.UUIDField(primary_key=True)
    # As registered, case kept: that is what the API returns.
    login = fields.CharField(max_length=64, unique=True)
    # `login_key(login)`, set on every save, which lookups use. Nullable only as SQLite cannot add
    # a NOT NULL column to a table with rows; migration 0005 fills it.
    login_key = fields.CharField(max_length=64, unique=True, null=True)
    password_hash = fields.CharField(max_length=255)
    # Needed in clear to sign callbacks; returned to the client at registration and login.
    webhook_secret = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)
    disabled_at = fields.DatetimeField(null=True)
    # Fair dispatch serves the client served least recently first.
    last_dispatched_at = fields.DatetimeField(null=True, db_index=True)
    # The callback URL of the tasks created without one (PUT /api/auth/me/callback); NULL: none.
    callback_url = fields.TextField(null=True)

    class Meta:
        table = "clients"

    async def save(self, *args: Any, **kwargs: Any) -> None:
        self.login_key = login_key(self.login)
        await super().save(*args, **kwargs)


class ApiKey(Model):
    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyRelation[Client] = fields.ForeignKeyField(
        "models.Client", related_name="api_keys", on_delete=fields.CASCADE
    )
    # SHA-256 (hex): keys are long and random, so a fast hash is enough and a lookup one indexed query.
    key_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"
