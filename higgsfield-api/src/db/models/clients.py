"""Registered clients and their API keys."""

from typing import Any

from tortoise import fields
from tortoise.models import Model


def login_key(login: str) -> str:
    """Logins are unique and matched without regard to case: "CAROL" is "carol". Logins are
    ASCII (`[A-Za-z0-9_.@-]`), where this is also what SQL's LOWER() gives (migration 0005)."""
    return login.lower()


class Client(Model):
    id = fields.UUIDField(primary_key=True)
    # As registered, case kept: that is what the API returns.
    login = fields.CharField(max_length=64, unique=True)
    # `login_key(login)`, set on every save: registration, login, disabling and the failed-login
    # count look clients up by it. Nullable only because SQLite cannot add a NOT NULL column to
    # a table with rows without rebuilding it; migration 0005 fills it for the rows it finds.
    login_key = fields.CharField(max_length=64, unique=True, null=True)
    password_hash = fields.CharField(max_length=255)
    # Needed in clear to sign callbacks; returned to the client at registration and login.
    webhook_secret = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)
    disabled_at = fields.DatetimeField(null=True)
    # Fair dispatch serves the client served least recently first.
    last_dispatched_at = fields.DatetimeField(null=True, db_index=True)

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
    # SHA-256 of the key (hex): keys are long random strings, so a fast hash is enough
    # and the lookup on the request path stays one indexed query.
    key_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"
