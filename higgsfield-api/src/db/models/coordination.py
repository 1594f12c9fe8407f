"""Rows that coordinate processes sharing one database."""

from tortoise import fields
from tortoise.models import Model


class WorkerLease(Model):
    """A named lease only one process holds at a time (e.g. the dispatcher, so that the
    count of busy upstream slots and the claims that fill them cannot race)."""

    name = fields.CharField(max_length=64, primary_key=True)
    owner = fields.CharField(max_length=64, null=True)
    until = fields.DatetimeField(null=True)
    # Higgsfield's concurrency 400 seen with this many tasks upstream: no dispatch until fewer.
    cap_busy = fields.IntField(null=True)
    cap_until = fields.DatetimeField(null=True)

    class Meta:
        table = "worker_leases"


class LoginFailure(Model):
    """A failed login, counted per login over a sliding window (holds across processes)."""

    id = fields.IntField(primary_key=True)
    login = fields.CharField(max_length=64, db_index=True)
    failed_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "login_failures"
