"""Load generation from a second process: wrk when it is there (installed from Debian's
packages if missing), else the Python generator of `bench.pyload`; both report the same."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import SERVICE_DIR

APT_TIMEOUT_SECONDS = 180


@dataclass
class LoadSpec:
    """One kind of request, repeated: `headers` rotate request by request (one API key each)."""

    base_url: str
    path: str
    method: str = "GET"
    headers: list[dict[str, str]] = field(default_factory=lambda: [{}])
    body: bytes | None = None


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    failed: int  # answers of 400 and above, and socket errors
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk(log: list[str]) -> str | None:
    """wrk's path; installs Debian's package when it is missing and apt-get can be used."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        log.append("wrk is missing: installing it with apt-get")
        for args in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "wrk"]):
            try:
                subprocess.run(args, check=False, timeout=APT_TIMEOUT_SECONDS, capture_output=True)
            except subprocess.TimeoutExpired:
                break
        found = shutil.which("wrk")
    if not found:
        log.append("wrk is not available: using the Python load generator (bench/pyload.py) instead")
    return found


def _lua(spec: LoadSpec, body_file: Path) -> str:
    headers = ", ".join(
        "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in h.items()) + "}"
        for h in spec.headers
    )
    body = f'local f = io.open({json.dumps(str(body_file))}, "rb"); local body = f:read("*a"); f:close()'
    return f"""
{body if spec.body is not None else "local body = nil"}
local variants = {{{headers}}}
local requests = {{}}
local i = 0
init = function(args)
  for n, h in ipairs(variants) do
    requests[n] = wrk.format({json.dumps(spec.method)}, {json.dumps(spec.path)}, h, body)
  end
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
done = function(summary, latency, reqs)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {{\\"requests\\": %d, \\"duration_us\\": %d, \\"failed\\": %d, " ..
    "\\"p50_us\\": %d, \\"p99_us\\": %d}}\\n",
    summary.requests, summary.duration, e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _parse(output: str) -> LoadResult:
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"the load generator reported nothing:\n{output[-2000:]}")
    data = json.loads(line.removeprefix("BENCHJSON "))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        failed=data["failed"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def run_load(
    spec: LoadSpec, *, seconds: float, connections: int, wrk: str | None, work_dir: Path
) -> LoadResult:
    """`connections` keep-alive connections sending `spec` for `seconds`, from another process."""
    body_file = work_dir / "body.bin"
    if spec.body is not None:
        body_file.write_bytes(spec.body)
    timeout = seconds + 60
    if wrk:
        script = work_dir / "spec.lua"
        script.write_text(_lua(spec, body_file))
        args = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
        args += ["-s", str(script), spec.base_url]
    else:
        spec_file = work_dir / "spec.json"
        spec_file.write_text(
            json.dumps(
                {
                    "base_url": spec.base_url,
                    "path": spec.path,
                    "method": spec.method,
                    "headers": spec.headers,
                    "body_file": str(body_file) if spec.body is not None else None,
                }
            )
        )
        args = [sys.executable, "-m", "bench.pyload", str(spec_file), str(seconds), str(connections)]
    done = subprocess.run(args, cwd=SERVICE_DIR, capture_output=True, text=True, timeout=timeout, check=False)
    return _parse(done.stdout + done.stderr)
