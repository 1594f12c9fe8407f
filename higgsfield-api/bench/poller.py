"""The poller at scale: one poll cycle over N tasks in flight, against `bench.fake_upstream`.

Runs the service's own poll job (`poll_in_flight`) with its default POLL_CONCURRENCY and
POLL_BATCH_SIZE and the service's HTTP client, on a freshly migrated database holding N
`in_progress` tasks that are all due. Prints one `POLLJSON` line per N.

    python -m bench.poller DATABASE_URL FAKE_URL 100,1000,10000
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import uvloop
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from bench.procs import recreate_mysql
from src.app_factory import upstream_http
from src.blobs import open_store
from src.core.clock import utcnow
from src.core.config import Settings
from src.db.models import Client, Task, TaskStatus
from src.db.orm import tortoise_config
from src.jobs.context import JobContext
from src.upstream.accounts import Accounts
from src.upstream.poll import poll_in_flight

INSERT_BATCH = 1000


def _fresh_database(url: str, size: int) -> str:
    """A new SQLite file per size, or the MySQL/MariaDB database dropped and made again."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite://"))
        return f"sqlite://{path.with_name(f'{path.stem}-{size}{path.suffix}')}"
    recreate_mysql(url)
    return url


async def _fill(size: int) -> None:
    client = await Client.create(login="poller", password_hash="-", webhook_secret="-")
    now = utcnow()
    tasks = [
        Task(
            id=uuid.uuid4(),
            client=client,
            status=TaskStatus.IN_PROGRESS,
            prompt="bench",
            motion="GENERAL",
            motion_id="general",
            model="lite",
            duration=5,
            motion_strength=0.5,
            upstream_job_id=f"bench-{n:06d}",
            upstream_account="default",
            submitted_at=now,
            next_attempt_at=now - timedelta(seconds=1),
        )
        for n in range(size)
    ]
    await Task.bulk_create(tasks, batch_size=INSERT_BATCH)


async def one_cycle(url: str, fake_url: str, size: int) -> dict:
    settings = Settings(
        _env_file=None, database_url=url, hf_api_key="bench", hf_api_secret="bench", hf_base_url=fake_url
    )
    config = tortoise_config(settings)
    await migrate(config=config)
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    try:
        await _fill(size)
        async with (
            upstream_http(settings) as http,
            httpx.AsyncClient(base_url=fake_url) as probe,
            open_store(settings) as blobs,
        ):
            ctx = JobContext(settings, Accounts.from_settings(http, settings), blobs)
            before = (await probe.get("/reads")).json()["reads"]
            started = time.perf_counter()
            read = await poll_in_flight(ctx)
            seconds = time.perf_counter() - started
            upstream_reads = (await probe.get("/reads")).json()["reads"] - before
    finally:
        await Tortoise.close_connections()
    return {
        "tasks": size,
        "read": read,
        "upstream_reads": upstream_reads,
        "seconds": seconds,
        "concurrency": settings.poll_concurrency,
        "batch_size": settings.poll_batch_size,
        "interval": settings.poll_interval_seconds,
    }


def main() -> None:
    url, fake_url, sizes = sys.argv[1], sys.argv[2], [int(n) for n in sys.argv[3].split(",")]
    for size in sizes:
        # uvloop, as in the service: Uvicorn runs the app, and its scheduler, on uvloop.
        result = uvloop.run(one_cycle(_fresh_database(url, size), fake_url, size))
        print("POLLJSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
