"""Named leases that one process holds at a time (a row in `worker_leases`)."""

from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from src.core.clock import utcnow
from src.db.models import WorkerLease

DISPATCH = "dispatch"


async def acquire(name: str, owner: str, seconds: float) -> bool:
    """Takes (or renews) the lease for `seconds`; False while another owner holds it."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    free_or_mine = Q(until__isnull=True) | Q(until__lt=now) | Q(owner=owner)
    if await WorkerLease.filter(free_or_mine, name=name).update(owner=owner, until=until):
        return True
    try:
        await WorkerLease.create(name=name, owner=owner, until=until)
    except IntegrityError:
        return False  # the row exists and someone else holds it
    return True


async def release(name: str, owner: str) -> None:
    await WorkerLease.filter(name=name, owner=owner).update(owner=None, until=None)
