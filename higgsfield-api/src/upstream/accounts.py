"""The Higgsfield accounts (HF_ACCOUNTS, or the one of HF_API_KEY/HF_API_SECRET, or the sandbox's):
per account one HiggsfieldClient per API generation, all over one shared HTTP pool, and each
account's health. A 401 or 403 pauses an account for HF_ACCOUNT_PAUSE_SECONDS: its row in
`account_states` says so to every process, and the dispatcher sends nothing with it meanwhile."""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Self

import httpx
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from src.core.clock import utcnow
from src.core.config import Account, Settings, reveal
from src.db import fast_reads
from src.db.models import AccountState, TaskStatus
from src.upstream.client import HiggsfieldClient
from src.upstream.generations import generations
from src.upstream.http_pool import ShardedHttp

logger = logging.getLogger(__name__)

# A process records an account's refusals at most this often (10 000 reads refused in one poll
# round are one write, not 10 000).
REFUSAL_WRITE_SECONDS = 1.0
ERROR_LENGTH = 255
State = Literal["active", "paused", "retired"]


class HiggsfieldAccount:
    """One account: its settings and its client of each generation (`default`: the account's)."""

    def __init__(self, config: Account, clients: dict[str, HiggsfieldClient]) -> None:
        self.config = config
        self.clients = clients

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def cap(self) -> int:
        return self.config.cap

    @property
    def default(self) -> HiggsfieldClient:
        """The client new tasks of this account are sent with (its API generation)."""
        return self.clients[self.config.version]


@dataclass(frozen=True)
class AccountStatus:
    """An account as the admin view, /health and /metrics show it: never its key or secret."""

    name: str
    api_version: str
    max_concurrency: int
    busy: int
    state: State
    paused_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None

    @property
    def free(self) -> int:
        return max(0, self.max_concurrency - self.busy) if self.state == "active" else 0


@dataclass(eq=False)
class Accounts:
    """Every configured account, in the order configured. `of(name, version)` is the client a task
    sent with that account and generation is followed with."""

    accounts: list[HiggsfieldAccount]
    pause: timedelta
    _recorded: dict[str, datetime] = field(default_factory=dict)  # this process's last refusal writes
    _missing: set[str] = field(default_factory=set)  # accounts named by tasks, not configured

    @classmethod
    def from_settings(cls, http: httpx.AsyncClient | ShardedHttp, settings: Settings) -> Self:
        by_version = generations(settings.v2_models)
        self = cls([], timedelta(seconds=settings.hf_account_pause_seconds))
        for config in settings.accounts:
            credentials = (str(reveal(config.key)), str(reveal(config.secret)))

            async def on_refusal(message: str, name: str = config.name) -> None:
                await self.refused(name, message)

            clients = {
                version: HiggsfieldClient(
                    http,
                    settings.upstream_base_url,
                    credentials,
                    generation,
                    on_refusal,
                    status_timeout=settings.hf_status_timeout_seconds,
                )
                for version, generation in by_version.items()
            }
            self.accounts.append(HiggsfieldAccount(config, clients))
        return self

    @property
    def takers(self) -> list[HiggsfieldAccount]:
        """The accounts new tasks may be sent with (every one not retired)."""
        return [account for account in self.accounts if not account.config.retired]

    def get(self, name: str | None) -> HiggsfieldAccount | None:
        return next((account for account in self.accounts if account.name == name), None)

    def of(self, name: str | None, version: str) -> HiggsfieldClient | None:
        """The client of a task's account and generation; None (logged once) when the account is
        no longer configured: its tasks are not read, and end at TASK_RUN_DEADLINE."""
        account = self.get(name)
        if account is None:
            if str(name) not in self._missing:
                self._missing.add(str(name))
                logger.error(
                    "Tasks were sent with the Higgsfield account %r, which is no longer configured: they "
                    "cannot be read or canceled until it is configured again (as a retired account)",
                    name,
                )
            return None
        return account.clients[version]

    @property
    def catalog(self) -> HiggsfieldClient:
        """The client the motion catalog is read with: a v1 account's (v2 has no catalog)."""
        v1 = [account for account in self.takers if account.config.version == "v1"]
        return (v1 or self.takers)[0].default

    # Health, in `account_states`.

    async def prepare(self) -> None:
        """A row per account (several processes may start at once: existing rows are kept)."""
        names = [account.name for account in self.accounts]
        existing = set(await AccountState.filter(name__in=names).values_list("name", flat=True))
        for name in names:
            if name not in existing:
                with suppress(IntegrityError):  # another process made it meanwhile
                    await AccountState.create(name=name)

    async def refused(self, name: str, message: str) -> None:
        """Higgsfield refused the account: paused now unless it already is; the error kept."""
        now = utcnow()
        last = self._recorded.get(name)
        if last is not None and now - last < timedelta(seconds=REFUSAL_WRITE_SECONDS):
            return
        self._recorded[name] = now
        error = message[:ERROR_LENGTH]
        not_paused = Q(paused_at__isnull=True) | Q(paused_at__lt=now - self.pause)
        if await AccountState.filter(not_paused, name=name).update(
            paused_at=now, last_error=error, last_error_at=now
        ):
            logger.error(
                "Higgsfield refused the account %r, paused for %s s (HF_ACCOUNT_PAUSE_SECONDS); its "
                "pending tasks go to the other accounts: %s",
                name,
                self.pause.total_seconds(),
                error,
            )
        else:
            await AccountState.filter(name=name).update(last_error=error, last_error_at=now)

    async def paused(self) -> dict[str, datetime]:
        """`paused_at` of every account that has one, current or past its pause."""
        rows = await AccountState.filter(paused_at__isnull=False).values_list("name", "paused_at")
        return dict(rows)

    def is_paused(self, paused_at: datetime | None, now: datetime) -> bool:
        return paused_at is not None and now < paused_at + self.pause

    async def resumed(self, name: str, paused_at: datetime) -> None:
        """A task went out with an account whose pause had run out: it is active again (unless
        another refusal paused it meanwhile, which wrote a newer `paused_at`)."""
        if await AccountState.filter(name=name, paused_at=paused_at).update(paused_at=None):
            logger.warning("The Higgsfield account %r works again and takes tasks", name)

    async def statuses(self) -> list[AccountStatus]:
        """Every account with its busy slots and state, from the database."""
        busy = await busy_slots()
        rows = {row["name"]: row for row in await AccountState.all().values()}
        now = utcnow()
        found = []
        for account in self.accounts:
            row = rows.get(account.name, {})
            paused_at = row.get("paused_at")
            state: State = (
                "retired"
                if account.config.retired
                else "paused"
                if self.is_paused(paused_at, now)
                else "active"
            )
            found.append(
                AccountStatus(
                    name=account.name,
                    api_version=account.config.version,
                    max_concurrency=account.cap,
                    busy=busy.get(account.name, 0),
                    state=state,
                    paused_at=paused_at if state == "paused" else None,
                    last_error=row.get("last_error"),
                    last_error_at=row.get("last_error_at"),
                )
            )
        return found


async def busy_slots() -> dict[str | None, int]:
    """Per account, the tasks that hold (or are about to hold) one of its concurrent slots: sent
    or being sent, or pending but claimed for it by a dispatcher that is uploading them."""
    busy = (TaskStatus.SUBMITTING, TaskStatus.QUEUED, TaskStatus.IN_PROGRESS)
    return await fast_reads.busy_by_account(tuple(s.value for s in busy), TaskStatus.PENDING.value, utcnow())
