"""`make bench`: the service under load next to a bare FastAPI baseline, on this machine.

Starts the baseline app and the service (`python -m src.cli migrate` and `serve`, as `make
run` does) on 127.0.0.1, with the sandbox upstream in a process of its own
(bench/sandbox_upstream.py), loads each from a second process (wrk, or bench/pyload.py),
the two in turns for every row so that a drift of the machine's speed cancels out. The task GET
is measured a second time on the seed's original design (bench/seed_app.py, on the service's
database), and beside it one `SELECT 1` through the ORM, the floor of any route that reads the
database. Then peak memory under 50 concurrent 10 MiB uploads, its growth while one 50 MiB output
is copied into the blob store, and the poller against a fake
Higgsfield. Prints the table and writes it to bench/latest.md at the repository root (not
tracked); with --record, to bench/results.md too (tracked: a run someone chose to record).
SQLite always; MariaDB/MySQL too when TEST_MYSQL_URL is set (the bench uses the database of
that URL with `_bench` appended, dropped and made again).

    python -m bench.run [--seconds 10] [--warmup 3] [--connections 32] [--out PATH] [--record]
                        [--parts ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from bench import big_file, fixtures, report, slots
from bench.load import LoadResult, LoadSpec, ensure_wrk, run_load
from bench.procs import (
    SERVICE_DIR,
    Server,
    free_port,
    recreate_mysql,
    service_env,
    start_module,
    start_service,
)
from bench.sandbox_upstream import READY_PATH
from src.core.config import SANDBOX_CREDENTIAL
from tests.support.server import LoopbackServer

REPO_DIR = SERVICE_DIR.parent
KIB, MIB = 1024, 1024 * 1024
CREATE_CLIENTS = 8  # creates rotate over these keys (see RATE_LIMIT below)
RATE_LIMIT = 1_000_000  # the bench measures throughput, not the per-client limit of 60 a minute
LIST_TASKS = 25  # a full page of 20 and a next cursor
UPLOADS, UPLOAD_BYTES = 50, 10 * MIB
POLL_SIZES = "100,1000,10000"
TARGETS = {"get": 0.5, "list": 0.35, "create": 0.35}
ROUNDS = 3  # runs of the service and of the bare app, in turns, per row
RSS_TARGET_MB = 300
COPY_BYTES, COPY_GROWTH_TARGET_MB = 50 * MIB, 30
# Rows measured again on MySQL with other settings: the row label's suffix, the settings.
MYSQL_VARIANTS = {"2 workers": {"WEB_CONCURRENCY": "2"}}
GET_ROW = "`GET /api/higgsfield/i2v/{id}`"
SEED_ROW = GET_ROW + " on the seed's design"
FLOOR_ROW = "FastAPI + Tortoise: one `SELECT 1`"


def combine(runs: list[LoadResult]) -> LoadResult:
    """Runs of one kind as one: their requests over their time; the median p50, the worst p99."""
    p50s = sorted(run.p50_ms for run in runs)
    return LoadResult(
        requests=sum(run.requests for run in runs),
        seconds=sum(run.seconds for run in runs),
        failed=sum(run.failed for run in runs),
        p50_ms=p50s[len(p50s) // 2],
        p99_ms=max(run.p99_ms for run in runs),
    )


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.notes: list[str] = []
        self.wrk = ensure_wrk(self.notes)
        self.png = fixtures.png_of_size(64 * KIB)
        self.body, self.content_type = fixtures.multipart(self.png, {"prompt": "a bench", "model": "lite"})
        self.bare_runs: dict[str, list[LoadResult]] = {}

    def _run(self, spec: LoadSpec, seconds: float) -> LoadResult:
        return run_load(
            spec, seconds=seconds, connections=self.args.connections, wrk=self.wrk, work_dir=self.work
        )

    def measure(self, spec: LoadSpec, bare: LoadSpec, label: str) -> tuple[LoadResult, LoadResult]:
        """The service's requests and the bare ones, in turns: a warm-up of each (thrown away),
        then ROUNDS alternating runs of each, which together last --seconds per side. The
        machine's speed drifts (other tenants of the host): measured side by side, both see the
        same drift and the ratio does not."""
        self._run(bare, self.args.warmup)
        self._run(spec, self.args.warmup)
        bare_runs, runs = [], []
        for _ in range(ROUNDS):
            bare_runs.append(self._run(bare, self.args.seconds / ROUNDS))
            runs.append(self._run(spec, self.args.seconds / ROUNDS))
        result, baseline = combine(runs), combine(bare_runs)
        print(
            f"  {label}: {result.rps:,.0f} req/s (bare {baseline.rps:,.0f}), p50 {result.p50_ms:.2f} ms, "
            f"p99 {result.p99_ms:.2f} ms"
        )
        self.bare_runs.setdefault(bare.path, []).extend(bare_runs)
        return result, baseline

    def bare_rows(self) -> list[report.HttpRow]:
        """The bare endpoints over all their runs (each service row has its own, taken in turns)."""
        names = {"/json": "bare FastAPI: constant JSON", "/echo": "bare FastAPI: multipart echo (64 KiB PNG)"}
        return [report.HttpRow(names[path], "-", combine(runs)) for path, runs in self.bare_runs.items()]

    def service_env(self, database: str, **values: str | int) -> dict[str, str]:
        env = service_env(free_port(), RATE_LIMIT_PER_MINUTE=RATE_LIMIT, **values)
        env["BLOB_DIR"] = str(self.work / f"blobs-{env['PORT']}")
        if database.startswith("SQLite"):
            env["SQLITE_PATH"] = str(self.work / f"service-{env['PORT']}.sqlite3")
        else:
            env["DATABASE_URL"] = self.mysql_url()
            recreate_mysql(env["DATABASE_URL"])
        return env

    def mysql_url(self) -> str:
        return os.environ["TEST_MYSQL_URL"].split("?")[0] + "_bench"

    def http_rows(self, database: str, **settings: str) -> list[report.HttpRow]:
        """The three request rows on `database` (a label: "SQLite" or "MariaDB/MySQL", maybe with
        what differs from the defaults), the service run with `settings` on top of the bench's."""
        log = self.work / f"service-{len(self.bare_runs)}-{database.split('/')[0]}.log"
        credentials = {"HF_API_KEY": SANDBOX_CREDENTIAL, "HF_API_SECRET": SANDBOX_CREDENTIAL, **settings}
        with ExitStack() as running:  # each process is stopped, even if a later one fails to start
            bare = start_module("bench.baseline_app", free_port(), self.work / "baseline.log", "/json")
            running.callback(bare.stop)
            upstream = start_module(
                "bench.sandbox_upstream", free_port(), self.work / "upstream.log", READY_PATH
            )
            running.callback(upstream.stop)
            env = self.service_env(database, HF_BASE_URL=upstream.url, **credentials)
            server = start_service(env, log)
            running.callback(server.stop)
            # The seed's design reads the same database; one worker, as the baseline.
            seed_port = free_port()
            seed = Server(
                {**env, "PORT": str(seed_port)},
                self.work / "seed.log",
                ("-m", "bench.seed_app", str(seed_port)),
            )
            running.callback(seed.stop)
            seed.wait_ready(path="/ready")
            keys = fixtures.register_clients(server.url, CREATE_CLIENTS, prefix="bench")
            fixtures.wait_for_catalog(server.url, keys[0])
            ids = fixtures.create_tasks(server.url, keys[0], LIST_TASKS, self.png)
            own = [{"X-API-KEY": keys[0]}]
            plain = LoadSpec(bare.url, "/json")
            echo = LoadSpec(bare.url, "/echo", "POST", [{"Content-Type": self.content_type}], self.body)
            one, page = f"{fixtures.I2V}{ids[0]}", f"{fixtures.I2V}?limit=20"
            get = self.measure(LoadSpec(server.url, one, headers=own), plain, "GET task")
            seeded = self.measure(LoadSpec(seed.url, one, headers=own), plain, "GET task, seed's design")
            floor = self.measure(LoadSpec(seed.url, "/one-query"), plain, "one query")
            listed = self.measure(LoadSpec(server.url, page, headers=own), plain, "GET list")
            creators = [{"X-API-KEY": key, "Content-Type": self.content_type} for key in keys]
            create = LoadSpec(server.url, fixtures.I2V, "POST", creators, self.body)
            made = self.measure(create, echo, "POST create")
        return [
            report.HttpRow(GET_ROW, database, *get, "bare JSON", TARGETS["get"]),
            report.HttpRow(SEED_ROW, database, *seeded, "bare JSON"),
            report.HttpRow(FLOOR_ROW, database, *floor, "bare JSON"),
            report.HttpRow(
                "`GET /api/higgsfield/i2v/?limit=20`", database, *listed, "bare JSON", TARGETS["list"]
            ),
            report.HttpRow(
                "`POST /api/higgsfield/i2v/` (64 KiB PNG)", database, *made, "bare echo", TARGETS["create"]
            ),
        ]

    def memory_row(self) -> report.MemoryRow:
        """A fresh service (SQLite): its peak resident memory after 50 uploads of 10 MiB at once."""
        server = start_service(self.service_env("SQLite"), self.work / "service-memory.log")
        try:
            key = fixtures.register_clients(server.url, 1, prefix="memory")[0]
            fixtures.wait_for_catalog(server.url, key)
            idle = server.rss_mib()
            big, content_type = fixtures.multipart(fixtures.png_of_size(UPLOAD_BYTES), {"prompt": "big"})
            (self.work / "big.bin").write_bytes(big)
            headers = json.dumps({"X-API-KEY": key, "Content-Type": content_type})
            args = [sys.executable, "-m", "bench.pyload", "--burst", server.url + fixtures.I2V]
            done = subprocess.run(
                [*args, str(self.work / "big.bin"), headers, str(UPLOADS)],
                cwd=SERVICE_DIR,
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            )
            line = next(ln for ln in done.stdout.splitlines() if ln.startswith("BURSTJSON "))
            statuses = Counter(str(status) for status in json.loads(line.removeprefix("BURSTJSON ")))
            peak = server.peak_rss_mib()
        finally:
            server.stop()
        print(
            f"  {UPLOADS} uploads of 10 MiB: peak RSS {peak:.0f} MiB (idle {idle:.0f} MiB), {dict(statuses)}"
        )
        answers = ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
        load = f"{UPLOADS} concurrent uploads of {UPLOAD_BYTES // MIB} MiB"
        return report.MemoryRow(load, "SQLite", idle, peak, answers, RSS_TARGET_MB)

    def copy_row(self) -> report.MemoryRow:
        """A fresh service (SQLite) copying one COPY_BYTES output: how much its resident memory grows.
        The file comes from a loopback server in this process; the task is a real one, pointed at it."""
        sqlite_path = self.work / "copy.sqlite3"
        env = self.service_env("SQLite", POLL_INTERVAL_SECONDS="0.2", SANDBOX_JOB_SECONDS="0.5")
        env["SQLITE_PATH"] = str(sqlite_path)
        with LoopbackServer(big_file.app(COPY_BYTES)) as files:
            server = start_service(env, self.work / "service-copy.log")
            try:
                key = fixtures.register_clients(server.url, 1, prefix="copy")[0]
                fixtures.wait_for_catalog(server.url, key)
                [task_id] = fixtures.create_tasks(server.url, key, 1, self.png)
                fixtures.wait_for_copy(server.url, key, task_id)  # the sandbox's small video
                server.reset_peak()  # the start-up's peak is not the copy's
                idle = server.rss_mib()
                big_file.point_task_at(sqlite_path, Path(env["BLOB_DIR"]), task_id, files.url + big_file.PATH)
                output = fixtures.wait_for_copy(server.url, key, task_id, within=120)
                peak = server.peak_rss_mib()
            finally:
                server.stop()
        growth, state = peak - idle, f"{output['state']}, {output['bytes'] or 0:,} bytes"
        print(f"  copy of {COPY_BYTES // MIB} MiB: {state}, RSS grew {growth:.1f} MiB (idle {idle:.0f} MiB)")
        load = f"copy of one {COPY_BYTES // MIB} MiB output into the blob store"
        return report.MemoryRow(load, "SQLite", idle, peak, state, COPY_GROWTH_TARGET_MB, on_growth=True)

    def poll_rows(self, database: str) -> list[report.PollRow]:
        fake = start_module("bench.fake_upstream", free_port(), self.work / "fake.log", "/reads")
        url = f"sqlite://{self.work / 'poll.sqlite3'}" if database == "SQLite" else self.mysql_url()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "bench.poller", url, fake.url, POLL_SIZES],
                cwd=SERVICE_DIR,
                env=service_env(0),
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            )
        finally:
            fake.stop()
        rows = []
        for line in done.stdout.splitlines():
            if line.startswith("POLLJSON "):
                data = json.loads(line.removeprefix("POLLJSON "))
                rows.append(
                    report.PollRow(
                        database,
                        data["tasks"],
                        data["upstream_reads"],
                        data["seconds"],
                        data["concurrency"],
                        data["batch_size"],
                        data["interval"],
                    )
                )
                print(f"  poller, {data['tasks']:,} tasks: {data['seconds']:.2f} s")
        return rows


def _header(args: argparse.Namespace, bench: Bench, poll: list[report.PollRow]) -> list[str]:
    tool = "wrk (1 thread)" if bench.wrk else "bench/pyload.py (Python, asyncio)"
    concurrency = (
        f"POLL_CONCURRENCY={poll[0].concurrency}, POLL_BATCH_SIZE={poll[0].batch_size}" if poll else ""
    )
    return [
        "# Benchmark results",
        "",
        f"`make bench`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}, everything on 127.0.0.1.",
        f"Load: {tool}, {args.connections} keep-alive connections, {args.warmup:g} s warm-up then "
        f"{args.seconds:g} s per row. Service: `python -m src.cli serve`, 1 worker (rows marked "
        '"2 workers": WEB_CONCURRENCY=2), '
        "sandbox upstream in a process of its own (bench/sandbox_upstream.py), "
        f"JSON access log on, RATE_LIMIT_PER_MINUTE={RATE_LIMIT} and creates spread over "
        f"{CREATE_CLIENTS} clients. Baseline: bench/baseline_app.py on the same Uvicorn settings, "
        f"measured in turns with each row ({ROUNDS} runs of each, {args.seconds:g} s in all per side); "
        "a row's ratio is to its own baseline runs. The seed's design: bench/seed_app.py (the API "
        "key, then the task, as two model reads) on the service's database and Uvicorn settings; "
        "the same app's one `SELECT 1` through the ORM is the floor of a route that reads the database.",
        f"Poller: one cycle of the service's poll job against bench/fake_upstream.py (50 ms per "
        f"job-set read, all tasks stay in progress), {concurrency}.",
        *(f"Note: {note}." for note in bench.notes),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--out", type=Path, default=REPO_DIR / "bench" / "latest.md")
    parser.add_argument(
        "--record", action="store_true", help="also write the table to bench/results.md (tracked)"
    )
    parser.add_argument(
        "--parts",
        default="http,poller,memory,copy,slots,crash",
        help="which tables to measure (a quicker look at one)",
    )
    parser.add_argument(
        "--slot-accounts",
        type=json.loads,
        default=slots.SLOT_ACCOUNTS,
        help='the accounts of the slots row: a JSON list of {"name", "key", "secret", "max_concurrency"}',
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    databases = ["SQLite"] + (["MariaDB/MySQL"] if os.environ.get("TEST_MYSQL_URL") else [])
    # On MySQL also: the other driver, and two workers (what a second core buys; the baseline
    # stays one worker).
    variants = {"MariaDB/MySQL": MYSQL_VARIANTS} if "http" in parts else {}
    with tempfile.TemporaryDirectory(prefix="hf-bench-") as work_dir:
        bench = Bench(args, Path(work_dir))
        http: list[report.HttpRow] = []
        poll: list[report.PollRow] = []
        slot_rows: list[slots.SlotsRow] = []
        crash_rows: list[slots.CrashRow] = []
        for database in databases:
            print(database)
            if "http" in parts:
                http += bench.http_rows(database)
            for label, settings in variants.get(database, {}).items():
                print(f"{database}, {label}")
                http += bench.http_rows(f"{database}, {label}", **settings)
            if "poller" in parts:
                poll += bench.poll_rows(database)
            if "slots" in parts:
                for webhooks in (False, True):
                    slot_rows.append(
                        slots.slots_row(bench.work, database, bench.service_env, args.slot_accounts, webhooks)
                    )
            if "crash" in parts:
                crash_rows.append(slots.crash_row(bench.work, database, bench.service_env))
        http = bench.bare_rows() + http
        memory = []
        if "memory" in parts:
            print("memory")
            memory.append(bench.memory_row())
        if "copy" in parts:
            print("copy")
            memory.append(bench.copy_row())
        lines = _header(args, bench, poll)
        lines += ["", "## HTTP", "", *report.http_table(http), "", report.seed_line(http, GET_ROW, SEED_ROW)]
        lines += ["", "## Memory", "", *report.memory_table(memory)]
        lines += ["", "## Poller", "", *report.poll_table(poll), "", report.scaling_line(poll)]
        lines += ["", "## Higgsfield's slots", "", *report.slots_table(slot_rows)]
        lines += ["", "## A status read cut by a killed worker", "", *report.crash_table(crash_rows)]
    text = "\n".join(lines) + "\n"
    outs = [args.out] + ([REPO_DIR / "bench" / "results.md"] if args.record else [])
    for out in outs:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    print("\n" + text + "\nwritten to " + ", ".join(map(str, outs)))


if __name__ == "__main__":
    main()
