"""A fake Higgsfield (v2) that keeps a record of its concurrency slots, for the bench's `slots`
and `crash` rows.

It holds several accounts, each known by the credentials it is called with
(`Authorization: Key key:secret`) and with a cap of its own: a submission over an account's cap
gets Higgsfield's concurrency 400. A job takes one of its account's slots when its submission is
accepted and frees it when it ends, JOB_SECONDS later (spread over +- JITTER, so that a job's end
falls anywhere between two reads of it). Every slot taken and freed is recorded here, on
Higgsfield's side, with the first status read that saw the job final. When a submission names a
webhook (`?hf_webhook=`), the fake calls it as the job ends, as Higgsfield does.

Uploads, submissions and reads take a fixed time each (the `*_SECONDS` below). A status read can
be made slow (`POST /slow-reads?seconds=30`, `0` to end it), for a worker killed mid-read;
`GET /record` answers what happened so far.

    python -m bench.slots_upstream PORT '{"accounts": [{"name": "a", "key": "k", "secret": "s",
                                         "max_concurrency": 4}], "job_seconds": 10}'
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

# What each call costs Higgsfield's side, in seconds (a 1 MB image's upload to its storage).
UPLOAD_URL_SECONDS = 0.1
PUT_SECONDS = 0.4
SUBMIT_SECONDS = 0.3
READ_SECONDS = 0.05
JOB_SECONDS = 10.0
JITTER = 0.2  # a job lasts JOB_SECONDS times 1 +- JITTER
CAP_MESSAGE = "Maximum number of concurrent requests ({cap}) has been reached"


@dataclass
class Job:
    request_id: str
    account: str
    started: float
    ends: float
    webhook: str | None
    seen_final: float | None = None
    reads: list[float] = field(default_factory=list)  # when each status read answered


@dataclass
class Fake:
    accounts: dict[str, dict[str, Any]]  # "key:secret" -> the account
    job_seconds: float
    jitter: float
    seed: int = 1
    jobs: dict[str, Job] = field(default_factory=dict)
    uploads: int = 0
    refused: int = 0  # submissions over the cap
    slow_read_seconds: float = 0.0
    reads_started: int = 0
    ids: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def account_of(self, headers: dict[bytes, bytes]) -> dict[str, Any] | None:
        auth = headers.get(b"authorization", b"").decode()
        return self.accounts.get(auth.removeprefix("Key ")) if auth.startswith("Key ") else None

    def live(self, account: str, now: float) -> int:
        return sum(job.account == account and job.ends > now for job in self.jobs.values())

    def record(self) -> dict[str, Any]:
        return {
            "now": time.time(),
            "accounts": {a["name"]: a["max_concurrency"] for a in self.accounts.values()},
            "jobs": [vars(job) for job in self.jobs.values()],
            "uploads": self.uploads,
            "refused": self.refused,
            "reads_started": self.reads_started,
        }


FAKE: Fake


async def _answer(send: Send, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _status(base: str, job: Job, now: float) -> dict[str, Any]:
    status = "completed" if now >= job.ends else "in_progress"
    answer: dict[str, Any] = {"status": status, "request_id": job.request_id}
    if status == "completed":
        answer["video"] = {"url": f"{base}/outputs/{job.request_id}/video.mp4"}
        answer["images"] = [{"url": f"{base}/outputs/{job.request_id}/thumbnail.jpg"}]
    return answer


async def _call_webhook(http: httpx.AsyncClient, job: Job) -> None:
    await asyncio.sleep(max(0.0, job.ends - time.time()))
    with contextlib.suppress(httpx.HTTPError):  # the poller still reads the job
        await http.post(str(job.webhook), json={"request_id": job.request_id, "status": "completed"})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        async with httpx.AsyncClient(timeout=10) as http:
            background: set[asyncio.Task[None]] = set()
            scope["state"]["http"], scope["state"]["background"] = http, background
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            for task in background:
                task.cancel()
        await send({"type": "lifespan.shutdown.complete"})
        return
    fake, path, method = FAKE, scope["path"], scope["method"]
    base = f"http://{scope['server'][0]}:{scope['server'][1]}"
    body = await _body(receive)
    if path == "/record":
        return await _answer(send, 200, fake.record())
    if path == "/slow-reads" and method == "POST":
        fake.slow_read_seconds = float(parse_qs(scope["query_string"].decode())["seconds"][0])
        return await _answer(send, 200, {"slow_read_seconds": fake.slow_read_seconds})
    if path.startswith("/uploads/") and method == "PUT":
        await asyncio.sleep(PUT_SECONDS)
        fake.uploads += 1
        return await _answer(send, 200, {})
    account = fake.account_of(dict(scope["headers"]))
    if account is None:
        return await _answer(send, 401, {"detail": "Invalid credentials"})
    if path == "/files/generate-upload-url":
        await asyncio.sleep(UPLOAD_URL_SECONDS)
        name = f"{next(fake.ids)}.png"
        return await _answer(
            send,
            200,
            {
                "upload_url": f"{base}/uploads/{name}",
                "public_url": f"{base}/files/{name}",
                "upload_headers": {"Content-Type": json.loads(body)["content_type"]},
            },
        )
    if path.startswith("/higgsfield-ai/dop/") and method == "POST":
        await asyncio.sleep(SUBMIT_SECONDS)
        now = time.time()
        cap = account["max_concurrency"]
        if fake.live(account["name"], now) >= cap:
            fake.refused += 1
            return await _answer(send, 400, {"detail": CAP_MESSAGE.format(cap=cap)})
        query = parse_qs(scope["query_string"].decode())
        length = fake.job_seconds * (1 + fake.random.uniform(-fake.jitter, fake.jitter))
        job = Job(
            f"req-{next(fake.ids):06d}",
            account["name"],
            now,
            now + length,
            query.get("hf_webhook", [None])[0],
        )
        fake.jobs[job.request_id] = job
        if job.webhook:
            task = asyncio.create_task(_call_webhook(scope["state"]["http"], job))
            scope["state"]["background"].add(task)
            task.add_done_callback(scope["state"]["background"].discard)
        return await _answer(send, 200, {"status": "queued", "request_id": job.request_id})
    if path.startswith("/requests/") and path.endswith("/status"):
        fake.reads_started += 1
        await asyncio.sleep(fake.slow_read_seconds or READ_SECONDS)
        job = fake.jobs.get(path.split("/")[2])
        if job is None:
            return await _answer(send, 404, {"detail": "Not found"})
        now = time.time()
        job.reads.append(now)
        answer = _status(base, job, now)
        if answer["status"] == "completed" and job.seen_final is None:
            job.seen_final = now
        return await _answer(send, 200, answer)
    return await _answer(send, 404, {"detail": "Not found"})


def main() -> None:
    global FAKE
    config = json.loads(sys.argv[2])
    FAKE = Fake(
        accounts={f"{a['key']}:{a['secret']}": a for a in config["accounts"]},
        job_seconds=float(config.get("job_seconds", JOB_SECONDS)),
        jitter=float(config.get("jitter", JITTER)),
    )
    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning", backlog=4096
    )


if __name__ == "__main__":
    main()
