"""Registered clients and their API keys."""

from tortoise import fields
from tortoise.models import Model


class Client(Model):
    id = fields.UUIDField(primary_key=True)
    login = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=255)
    # Needed in clear to sign callbacks; returned to the client at registration and login.
    webhook_secret = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)
    disabled_at = fields.DatetimeField(null=True)
    # Fair dispatch serves the client served least recently first.
    last_dispatched_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "clients"


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
