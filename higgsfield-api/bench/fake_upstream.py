"""A fake Higgsfield for the poller bench: every job-set read takes READ_SECONDS (50 ms) and
answers `in_progress`, so every task stays in flight and every cycle reads all of them.

A raw ASGI app on uvicorn in a process of its own, so that the fake's own cost stays out of the
poller's process. `GET /reads` answers how many job sets were read so far.

    python -m bench.fake_upstream PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime

import uvicorn
from starlette.types import Receive, Scope, Send

from src.sandbox.protocol import job_set_json

READ_SECONDS = 0.05
JOB_SETS = "/v1/job-sets/"
_reads = 0
_created = datetime.now(UTC)


async def _answer(send: Send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global _reads
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path: str = scope["path"]
    if path.startswith(JOB_SETS):
        _reads += 1
        await asyncio.sleep(READ_SECONDS)
        job_set_id = path.removeprefix(JOB_SETS)
        body = job_set_json(
            base="http://fake",
            job_set_id=job_set_id,
            job_id=job_set_id,
            created_at=_created,
            status="in_progress",
        )
        await _answer(send, 200, body)
    elif path == "/reads":
        await _answer(send, 200, {"reads": _reads})
    else:
        await _answer(send, 404, {"detail": "Not found"})


def main() -> None:
    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning", backlog=4096
    )


if __name__ == "__main__":
    main()
