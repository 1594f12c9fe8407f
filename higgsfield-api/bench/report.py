"""The results tables: printed, and written as Markdown (bench/latest.md, bench/results.md)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.load import LoadResult
from bench.slots import CrashRow, SlotsRow


@dataclass
class HttpRow:
    name: str
    database: str
    result: LoadResult
    baseline: LoadResult | None = None
    baseline_name: str = ""
    target: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.result.rps / self.baseline.rps if self.baseline and self.baseline.rps else None


@dataclass
class MemoryRow:
    load: str
    database: str
    idle_mib: float
    peak_mib: float
    answers: str
    target_mb: float
    # The target is on the growth (peak - idle), not on the peak.
    on_growth: bool = False

    @property
    def met(self) -> bool:
        measured = self.peak_mib - self.idle_mib if self.on_growth else self.peak_mib
        return measured * 1.048576 < self.target_mb


@dataclass
class PollRow:
    database: str
    tasks: int
    read: int
    seconds: float
    concurrency: int
    batch_size: int
    interval: float


def _verdict(ok: bool) -> str:
    return "met" if ok else "**short**"


def http_table(rows: list[HttpRow]) -> list[str]:
    lines = [
        "| request | database | requests/s | p50 ms | p99 ms | failed | ratio to baseline | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        r = row.result
        ratio = f"{row.ratio:.2f} of {row.baseline_name}" if row.ratio is not None else "(baseline)"
        target = f"≥ {row.target:.2f}: {_verdict((row.ratio or 0) >= row.target)}" if row.target else ""
        lines.append(
            f"| {row.name} | {row.database} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.failed} "
            f"| {ratio} | {target} |"
        )
    return lines


def memory_table(rows: list[MemoryRow]) -> list[str]:
    lines = [
        "| load | database | idle RSS MB | peak RSS MB (VmHWM) | answers | target |",
        "| --- | --- | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        target = f"{'growth ' if row.on_growth else ''}< {row.target_mb:.0f} MB: {_verdict(row.met)}"
        lines.append(
            f"| {row.load} | {row.database} | {row.idle_mib * 1.048576:.0f} | {row.peak_mib * 1.048576:.0f} "
            f"| {row.answers} | {target} |"
        )
    return lines


def poll_table(rows: list[PollRow]) -> list[str]:
    lines = [
        "| tasks in flight | database | cycle s | reads/s | ms per task | read | within one interval |",
        "| ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row.tasks:,} | {row.database} | {row.seconds:.2f} | {row.read / row.seconds:,.0f} "
            f"| {row.seconds / row.tasks * 1000:.3f} | {row.read:,} "
            f"| {row.interval:.0f} s: {_verdict(row.seconds <= row.interval and row.read == row.tasks)} |"
        )
    return lines


def scaling_line(rows: list[PollRow]) -> str:
    """Linear or better: the time per task at the largest size is at most that at the smallest."""
    lines = []
    for database in dict.fromkeys(row.database for row in rows):
        mine = sorted((row for row in rows if row.database == database), key=lambda row: row.tasks)
        small, large = mine[0], mine[-1]
        per_small, per_large = small.seconds / small.tasks, large.seconds / large.tasks
        verdict = "linear or better" if per_large <= per_small * 1.1 else "**worse than linear**"
        lines.append(
            f"{database}: {per_large * 1000:.3f} ms per task at {large.tasks:,} vs {per_small * 1000:.3f} at "
            f"{small.tasks:,}: {verdict}"
        )
    return "Cycle time growth: " + "; ".join(lines) + "."


def seed_line(rows: list[HttpRow], service: str, seed: str) -> str:
    """The service's task GET against the same request on the seed's design, per database."""
    parts = []
    for row in rows:
        twin = next((r for r in rows if r.name == seed and r.database == row.database), None)
        if row.name == service and twin and twin.result.rps:
            times = row.result.rps / twin.result.rps
            verdict = "not below" if times >= 1 else "**below**"
            if row.result.failed or twin.result.failed:  # error answers are fast: no comparison
                verdict = "**not comparable**: failed answers"
            parts.append(f"{row.database}: {times:.2f} times its requests/s ({verdict})")
    return "The service's task GET against the seed's design: " + ("; ".join(parts) or "not measured") + "."


def slots_table(rows: list[SlotsRow]) -> list[str]:
    lines = [
        "| accounts (cap) | database | Higgsfield webhooks | slot-seconds busy | empty s per freed slot "
        "| of which until read | jobs ended | refused over cap | uploads / submissions | target |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        accounts = ", ".join(f"{name} ({cap}): {row.busy[name]:.1%}" for name, cap in row.accounts.items())
        lines.append(
            f"| {accounts} | {row.database} | {'on' if row.webhooks else 'off'} | {row.overall:.1%} "
            f"| {row.empty_per_freed:.2f} | {row.until_read:.2f} | {row.jobs} | {row.refused} "
            f"| {row.uploads} / {row.submissions} "
            f"| ≥ {row.target:.0%}: {_verdict(row.overall >= row.target)} |"
        )
    return lines


def crash_table(rows: list[CrashRow]) -> list[str]:
    lines = [
        "| database | read again after (s) | target |",
        "| --- | ---: | --- |",
    ]
    for row in rows:
        waited = "not within 180 s" if row.waited is None else f"{row.waited:.1f}"
        target = f"< 2 poll intervals ({2 * row.poll_interval:.0f} s): {_verdict(row.met)}"
        lines.append(f"| {row.database} | {waited} | {target} |")
    return lines
