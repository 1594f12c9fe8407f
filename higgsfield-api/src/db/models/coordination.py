"""Rows that coordinate processes sharing one database."""

from tortoise import fields
from tortoise.models import Model


class WorkerLease(Model):
    """A named lease only one process holds at a time (e.g. the dispatcher, so that the
    count of busy upstream slots and the claims that fill them cannot race)."""

    name = fields.CharField(max_length=64, primary_key=True)
    owner = fields.CharField(max_length=64, null=True)
    until = fields.DatetimeField(null=True)

    class Meta:
        table = "worker_leases"


class DispatchState(Model):
    """What the dispatcher remembers between rounds, shared by every process: Higgsfield's
    concurrency 400 seen with `full_at` tasks upstream, so no dispatch until fewer are, or until
    `full_until` (the account's slots may be taken by jobs the service does not follow).
    One row per account, named after it."""

    name = fields.CharField(max_length=64, primary_key=True)
    full_at = fields.IntField(null=True)
    full_until = fields.DatetimeField(null=True)

    class Meta:
        table = "dispatch_state"


class AccountState(Model):
    """A Higgsfield account's health, shared by every process: paused since `paused_at` when
    Higgsfield refused its key or credits (401, 403), and the last refusal it met."""

    name = fields.CharField(max_length=32, primary_key=True)
    paused_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=255, null=True)
    last_error_at = fields.DatetimeField(null=True)

    class Meta:
        table = "account_states"


class LoginFailure(Model):
    """A failed login, counted per login over a sliding window (holds across processes)."""

    id = fields.IntField(primary_key=True)
    login = fields.CharField(max_length=64, db_index=True)
    failed_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "login_failures"
