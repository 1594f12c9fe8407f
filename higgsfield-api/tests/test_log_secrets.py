"""No secret, key, password or image byte in any log line, with every logger at DEBUG.

The whole flow runs in-process (the app, its lifespan and scheduler, the fake Higgsfield
and a callback receiver on loopback), then every captured record is searched.
"""

from __future__ import annotations

import base64
import io
import logging
import os
from collections.abc import Iterator

import pytest
from PIL import Image

from src.db.models import Client, Task
from tests.support.app import ADMIN_TOKEN, HEALTH_UUID, PASSWORD, eventually, make_settings, running_app
from tests.support.receiver import Receiver
from tests.support.server import LoopbackServer

HF_KEY = "hf-key-7f3a9c1e5b2d4f60a8c7e9b1d3f5a7c9"
HF_SECRET = "hf-secret-2b4d6f8a0c1e3a5b7d9f1e3c5a7b9d0f"
HF_WEBHOOK_SECRET = "hf-webhook-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"


def noise_png() -> bytes:
    """Random pixels: the PNG's bytes are unlike anything else the test could log."""
    return _png(Image.frombytes("RGB", (96, 80), os.urandom(96 * 80 * 3)))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_traces(data: bytes) -> list[str]:
    """How a run of the image's bytes would look in a log line: raw, escaped, hex, base64."""
    middle = len(data) // 2
    run = next(
        data[i : i + 16] for i in range(middle, len(data) - 16) if not set(data[i : i + 16]) & set(b"'\"\\")
    )
    aligned = middle - middle % 3
    return [
        run.decode("latin-1"),
        repr(run)[2:-1],
        run.hex(),
        base64.b64encode(data)[aligned // 3 * 4 :][:24].decode(),
    ]


@pytest.fixture
def debug_everywhere(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger, existing or made later, at DEBUG for this test (restored afterwards)."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with LoopbackServer(receiver.app) as server:
        receiver.url = server.url
        yield receiver


async def test_the_whole_flow_logs_no_secret(db_url, fake, receiver, debug_everywhere):
    fake.settings.api_key, fake.settings.api_secret = HF_KEY, HF_SECRET
    settings = make_settings(
        db_url,
        fake.url,
        hf_api_key=HF_KEY,
        hf_api_secret=HF_SECRET,
        public_base_url="http://service.test",
        hf_webhook_secret=HF_WEBHOOK_SECRET,
    )
    image = noise_png()
    secrets: dict[str, str] = {
        "admin token": ADMIN_TOKEN,
        "password": PASSWORD,
        "HF key": HF_KEY,
        "HF secret": HF_SECRET,
        "HF webhook secret": HF_WEBHOOK_SECRET,
    }
    async with running_app(settings) as (_app, client):
        registered = await client.post(
            "/api/auth/registration",
            json={"login": "acme", "password": PASSWORD},
            headers={"X-ADMIN-TOKEN": ADMIN_TOKEN},
        )
        assert registered.status_code == 201
        secrets["registration key"] = registered.json()["api_key"]
        secrets["webhook secret"] = registered.json()["webhook_secret"]
        logged_in = await client.post("/api/auth/login", json={"login": "acme", "password": PASSWORD})
        key = secrets["login key"] = logged_in.json()["api_key"]
        headers = {"X-API-KEY": key}

        created = await client.post(
            "/api/higgsfield/i2v/",
            headers=headers,
            files={"image": ("secret.png", image, "image/png")},
            data={"prompt": "a walk", "callback_url": receiver.hook_url},
        )
        assert created.status_code == 202, created.text
        task_id = created.json()["id"]

        async def completed() -> bool:
            return (await client.get(f"/api/higgsfield/i2v/{task_id}", headers=headers)).json()[
                "status"
            ] == "completed"

        async def callback_arrived() -> bool:
            return bool(receiver.hits())

        await eventually(completed, what="the task to complete")
        await eventually(callback_arrived, what="the signed callback")

        job_id = (await Task.get(id=task_id)).upstream_job_id
        hook = await client.post(
            "/api/higgsfield/webhook",
            json={"id": job_id, "status": "completed"},
            headers={"X-Webhook-Secret-Key": HF_WEBHOOK_SECRET},
        )
        assert hook.status_code == 204, hook.text
        assert (await client.get(f"/health/{HEALTH_UUID}")).status_code == 200
        assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204
        for _ in range(6):  # failures, then the throttle
            await client.post("/api/auth/login", json={"login": "acme", "password": PASSWORD + "x"})
        secrets["password hash"] = (await Client.get(login="acme")).password_hash

    records = debug_everywhere.records
    assert any(record.name.startswith("tortoise") for record in records), "DEBUG logging was not captured"
    lines = [_render(record) for record in records]
    traces = {**secrets, **{f"image bytes ({i})": t for i, t in enumerate(image_traces(image))}}
    leaks = {
        what: next(line[:300] for line in lines if trace in line)
        for what, trace in traces.items()
        if any(trace in line for line in lines)
    }
    assert leaks == {}


def _render(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info:
        text += logging.Formatter().formatException(record.exc_info)
    return text
