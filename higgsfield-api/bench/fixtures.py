"""What the bench sends: real PNGs of a chosen size, multipart bodies, clients with keys, tasks."""

from __future__ import annotations

import io
import math
import random
import time

import httpx
from PIL import Image

from bench.procs import ADMIN_TOKEN

BOUNDARY = "benchboundary7MA4YWxkTrZu0gW"
PASSWORD = "bench-password-1"
I2V = "/api/higgsfield/i2v/"


def png_of_size(target_bytes: int, seed: int = 1) -> bytes:
    """A valid PNG of noise (incompressible) just under `target_bytes`, square, 64-4096 px a side."""
    rng = random.Random(seed)
    side = max(64, math.isqrt(target_bytes // 3))
    while True:
        image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=1)
        data = buffer.getvalue()
        if len(data) <= target_bytes or side <= 64:
            return data
        side -= max(1, side // 200)


def multipart(image: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body with the image and the text fields; returns (body, content type)."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="bench.png"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + image
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode(), f"multipart/form-data; boundary={BOUNDARY}"


def register_clients(base_url: str, count: int, prefix: str) -> list[str]:
    """`count` new clients; returns their API keys (each registration runs one argon2 hash)."""
    keys = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for n in range(count):
            answer = client.post(
                "/api/auth/registration",
                json={"login": f"{prefix}{n}", "password": PASSWORD},
                headers={"X-ADMIN-TOKEN": ADMIN_TOKEN},
            )
            answer.raise_for_status()
            keys.append(answer.json()["api_key"])
    return keys


def wait_for_catalog(base_url: str, key: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base_url, timeout=10) as client:
        while time.monotonic() < deadline:
            if client.get("/api/higgsfield/motions", headers={"X-API-KEY": key}).json():
                return
            time.sleep(0.2)
    raise RuntimeError("the motion catalog did not load")


def create_tasks(base_url: str, key: str, count: int, image: bytes) -> list[str]:
    """`count` tasks of one client through the API; returns their ids."""
    ids = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for n in range(count):
            answer = client.post(
                I2V,
                headers={"X-API-KEY": key},
                files={"image": ("bench.png", image, "image/png")},
                data={"prompt": f"bench task {n}", "metadata": '{"bench": true}'},
            )
            answer.raise_for_status()
            ids.append(answer.json()["id"])
    return ids


def wait_for_copy(base_url: str, key: str, task_id: str, within: float = 60) -> dict:
    """Waits until the task's copy of its outputs is no longer pending; returns the task's `output`."""
    deadline = time.monotonic() + within
    with httpx.Client(base_url=base_url, timeout=10) as client:
        while time.monotonic() < deadline:
            output = client.get(f"{I2V}{task_id}", headers={"X-API-KEY": key}).json()["output"]
            if output and output["state"] != "pending":
                return output
            time.sleep(0.2)
    raise RuntimeError(f"the copy of task {task_id} did not end within {within} s")
