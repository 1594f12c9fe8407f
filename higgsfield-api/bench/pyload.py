"""A small HTTP/1.1 load generator, for machines without wrk, in a process of its own.

    python -m bench.pyload SPEC.json SECONDS CONNECTIONS    # keep-alive load, like wrk
    python -m bench.pyload --burst URL_PATH BODY_FILE HEADERS_JSON COUNT   # COUNT requests at once

Speaks just enough HTTP for the service and the baseline (answers with Content-Length). It
prints the same `BENCHJSON {...}` line as the bench's wrk script.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit


def raw_request(method: str, host: str, path: str, headers: dict[str, str], body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def read_answer(reader: asyncio.StreamReader) -> int:
    """Reads one answer; returns its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    await reader.readexactly(length)
    return status


async def _connection(host: str, port: int, requests: list[bytes], until: float, out: dict) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.monotonic() < until:
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            status = await read_answer(reader)
            out["latencies"].append(time.perf_counter() - started)
            out["failed"] += status >= 400
    except (OSError, asyncio.IncompleteReadError):
        out["failed"] += 1
    finally:
        writer.close()


def _report(latencies: list[float], seconds: float, failed: int) -> None:
    latencies.sort()

    def pct(p: float) -> int:
        return int(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1e6) if latencies else 0

    result = {
        "requests": len(latencies),
        "duration_us": int(seconds * 1e6),
        "failed": failed,
        "p50_us": pct(0.5),
        "p99_us": pct(0.99),
    }
    print("BENCHJSON " + json.dumps(result), flush=True)


async def keep_alive_load(spec: dict, body: bytes | None, seconds: float, connections: int) -> None:
    url = urlsplit(spec["base_url"])
    requests = [raw_request(spec["method"], url.netloc, spec["path"], h, body) for h in spec["headers"]]
    out: dict = {"latencies": [], "failed": 0}
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(
        *(_connection(url.hostname or "", url.port or 80, requests, until, out) for _ in range(connections))
    )
    _report(out["latencies"], time.monotonic() - started, out["failed"])


async def _one_shot(host: str, port: int, request: bytes) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        return await read_answer(reader)
    finally:
        writer.close()


async def burst(url: str, body: bytes, headers_json: str, count: int) -> None:
    """`count` uploads at once, each on its own connection; prints the statuses."""
    parts = urlsplit(url)
    request = raw_request("POST", parts.netloc, parts.path, json.loads(headers_json), body)
    statuses = await asyncio.gather(
        *(_one_shot(parts.hostname or "", parts.port or 80, request) for _ in range(count)),
        return_exceptions=True,
    )
    print("BURSTJSON " + json.dumps([s if isinstance(s, int) else repr(s) for s in statuses]), flush=True)


def main() -> None:
    if sys.argv[1] == "--burst":
        body = Path(sys.argv[3]).read_bytes()
        asyncio.run(burst(sys.argv[2], body, sys.argv[4], int(sys.argv[5])))
        return
    spec = json.loads(Path(sys.argv[1]).read_text())
    body = Path(spec["body_file"]).read_bytes() if spec["body_file"] else None
    asyncio.run(keep_alive_load(spec, body, float(sys.argv[2]), int(sys.argv[3])))


if __name__ == "__main__":
    main()
