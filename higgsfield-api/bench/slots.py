"""Higgsfield's slots seen from Higgsfield's side (bench/slots_upstream.py): how busy a backlog
keeps them (the `slots` part), and how long a task whose status read was cut by a killed worker
waits to be read again (the `crash` part).

Both run the service as `make run` does, pointed at the fake as at Higgsfield, with its default
POLL_INTERVAL_SECONDS, LEASE_SECONDS and timeouts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import fixtures
from bench.procs import Server, free_port, service_env, start_service

# The accounts of the `slots` row, each with its own cap. One account goes to the service as
# HF_API_KEY/HF_API_SECRET/HF_MAX_CONCURRENCY, several as HF_ACCOUNTS (a JSON list of these).
SLOT_ACCOUNTS = [
    {"name": "one", "key": "bench-key-1", "secret": "bench-secret-1", "max_concurrency": 2},
    {"name": "two", "key": "bench-key-2", "secret": "bench-secret-2", "max_concurrency": 3},
]
BACKLOG_PER_SLOT = 12  # tasks created up front per slot: more than the window can take
SLOT_CLIENTS = 2  # the backlog comes from this many clients, in turns
SETTLE_SECONDS = 5.0  # from the last create to the window's start
WINDOW_SECONDS = 60.0
BUSY_TARGET = 0.95
WEBHOOK_SECRET = "bench-webhook-secret"
CRASH_SLOW_READ_SECONDS = 300.0


@dataclass
class SlotsRow:
    database: str
    webhooks: bool
    accounts: dict[str, int]  # name -> cap
    busy: dict[str, float]  # name -> share of its slot-seconds busy in the window
    jobs: int  # jobs that ended within the window
    empty_per_freed: float  # seconds a freed slot stayed empty, on average
    until_read: float  # seconds from a job's end to the first read that saw it final, on average
    refused: int  # submissions Higgsfield refused over a cap
    uploads: int
    submissions: int
    target: float = BUSY_TARGET

    @property
    def overall(self) -> float:
        total = sum(self.accounts.values())
        return sum(self.busy[name] * cap for name, cap in self.accounts.items()) / total


@dataclass
class CrashRow:
    database: str
    poll_interval: float
    waited: float | None  # from the kill to the next read of the task; None: not within the wait

    @property
    def met(self) -> bool:
        return self.waited is not None and self.waited < 2 * self.poll_interval


def accounts_env(accounts: list[dict[str, Any]]) -> dict[str, str]:
    """The service's settings for these accounts: the one-account shorthand, or HF_ACCOUNTS."""
    if len(accounts) == 1:
        [one] = accounts
        return {
            "HF_API_KEY": one["key"],
            "HF_API_SECRET": one["secret"],
            "HF_MAX_CONCURRENCY": str(one["max_concurrency"]),
        }
    return {"HF_ACCOUNTS": json.dumps(accounts)}


def start_fake(work: Path, config: dict[str, Any], name: str) -> Server:
    port = free_port()
    fake = Server(
        service_env(port), work / f"{name}.log", ("-m", "bench.slots_upstream", str(port), json.dumps(config))
    )
    fake.wait_ready(path="/record")
    return fake


def busy_share(
    record: dict[str, Any], start: float, end: float
) -> tuple[dict[str, float], int, float, float]:
    """Per account, the share of its slot-seconds busy within [start, end]; the jobs that ended
    within it; the empty seconds per freed slot; the seconds from a job's end to its read."""
    busy: dict[str, float] = dict.fromkeys(record["accounts"], 0.0)
    ended, lags = 0, []
    for job in record["jobs"]:
        busy[job["account"]] += max(0.0, min(job["ends"], end) - max(job["started"], start))
        if start <= job["ends"] <= end:
            ended += 1
            if job["seen_final"] is not None:
                lags.append(job["seen_final"] - job["ends"])
    window = end - start
    capacity = sum(record["accounts"].values()) * window
    empty = capacity - sum(busy.values())
    shares = {name: busy[name] / (cap * window) for name, cap in record["accounts"].items()}
    return (
        shares,
        ended,
        empty / ended if ended else float("nan"),
        sum(lags) / len(lags) if lags else float("nan"),
    )


def slots_row(
    work: Path,
    database: str,
    env_for: Callable[..., dict[str, str]],
    accounts: list[dict[str, Any]],
    webhooks: bool,
) -> SlotsRow:
    """A backlog of tasks against the fake's accounts; the share of slot-seconds busy over a window."""
    tag = f"slots-{'webhooks' if webhooks else 'polling'}-{database.split('/')[0]}"
    fake = start_fake(work, {"accounts": accounts}, f"fake-{tag}")
    try:
        env = env_for(database, HF_BASE_URL=fake.url, OUTPUT_COPY="false", **accounts_env(accounts))
        if webhooks:
            env.update(PUBLIC_BASE_URL=f"http://127.0.0.1:{env['PORT']}", HF_WEBHOOK_SECRET=WEBHOOK_SECRET)
        server = start_service(env, work / f"service-{tag}.log")
        try:
            keys = fixtures.register_clients(server.url, SLOT_CLIENTS, prefix=tag.replace("-", "")[:24])
            slots = sum(account["max_concurrency"] for account in accounts)
            image = fixtures.png_of_size(64 * 1024)
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for n in range(BACKLOG_PER_SLOT * slots):
                    answer = client.post(
                        fixtures.I2V,
                        headers={"X-API-KEY": keys[n % len(keys)]},
                        files={"image": ("bench.png", image, "image/png")},
                        data={"prompt": f"slots {n}"},
                    )
                    answer.raise_for_status()
            start = time.time() + SETTLE_SECONDS
            time.sleep(SETTLE_SECONDS + WINDOW_SECONDS + 1)
            record = httpx.get(fake.url + "/record", timeout=10).json()
        finally:
            server.stop()
    finally:
        fake.stop()
    shares, ended, empty, lag = busy_share(record, start, start + WINDOW_SECONDS)
    row = SlotsRow(
        database,
        webhooks,
        record["accounts"],
        shares,
        ended,
        empty,
        lag,
        record["refused"],
        record["uploads"],
        len(record["jobs"]),
    )
    print(
        f"  slots ({'webhooks' if webhooks else 'polling'}): {row.overall:.1%} busy, "
        f"{empty:.2f} s empty per freed slot, {lag:.2f} s until read, {ended} jobs, "
        f"{row.refused} refused, {row.uploads} uploads for {row.submissions} submissions"
    )
    return row


def _until(check: Callable[[], bool], within: float, what: str) -> float:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return time.monotonic()


def crash_row(work: Path, database: str, env_for: Callable[..., dict[str, str]]) -> CrashRow:
    """One task in progress; its status read made slow; the service killed (SIGKILL) while that
    read is in flight and started again at once: the seconds from the kill to the next read."""
    account = SLOT_ACCOUNTS[0]
    tag = f"crash-{database.split('/')[0]}"
    fake = start_fake(work, {"accounts": [account], "job_seconds": 3600, "jitter": 0}, f"fake-{tag}")

    def record() -> dict[str, Any]:
        return httpx.get(fake.url + "/record", timeout=10).json()

    try:
        env = env_for(database, HF_BASE_URL=fake.url, OUTPUT_COPY="false", **accounts_env([account]))
        log = work / f"service-{tag}.log"
        server = start_service(env, log)
        try:
            key = fixtures.register_clients(server.url, 1, prefix=tag.replace("-", ""))[0]
            fixtures.create_tasks(server.url, key, 1, fixtures.png_of_size(64 * 1024))
            _until(lambda: bool(record()["jobs"]), 60, "the task to be submitted")
            httpx.post(fake.url + "/slow-reads", params={"seconds": CRASH_SLOW_READ_SECONDS}, timeout=10)
            reads = record()["reads_started"]
            _until(lambda: record()["reads_started"] > reads, 60, "a status read to start")
            server.process.kill()
            killed = time.monotonic()
            server.process.wait()
            reads = record()["reads_started"]
            httpx.post(fake.url + "/slow-reads", params={"seconds": 0}, timeout=10)
            server = Server(env, log)  # the same settings and database, as a supervisor restarts it
            server.wait_ready(path=f"/health/{env['UUID_TEST_CHECK']}")
            poll = float(env.get("POLL_INTERVAL_SECONDS", 10))
            try:
                waited: float | None = (
                    _until(lambda: record()["reads_started"] > reads, 180, "a read") - killed
                )
            except RuntimeError:
                waited = None
        finally:
            server.stop()
    finally:
        fake.stop()
    row = CrashRow(database, poll, waited)
    print(
        f"  crash during a status read: read again after {waited if waited is None else round(waited, 1)} s"
    )
    return row
