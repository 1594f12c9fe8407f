"""Bad uploads cost little: the size is enforced before and while reading, pixel bounds without decoding."""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import AsyncIterator

import pytest

from src.db.models import Task
from src.web.middleware import FORM_ALLOWANCE
from tests.support.images import png

I2V = "/api/higgsfield/i2v/"
CHUNK = 64 * 1024


def body_limit(service) -> int:
    return service.settings.max_image_bytes + FORM_ALLOWANCE


async def call_asgi(app, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[list[dict], int]:
    """One raw ASGI request whose body must never be read; returns the answer and the reads."""
    reads = 0

    async def receive() -> dict:
        nonlocal reads
        reads += 1
        raise AssertionError("the body was read")

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"service.test"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("service.test", 80),
    }
    await app(scope, receive, send)
    return sent, reads


@pytest.mark.parametrize("path", [I2V, I2V.rstrip("/")])
async def test_a_content_length_over_the_limit_is_413_before_the_body_is_read(service, api_key, path):
    headers = [
        (b"x-api-key", api_key.encode()),
        (b"content-type", b"multipart/form-data; boundary=x"),
        (b"content-length", str(body_limit(service) + 1).encode()),
    ]
    sent, reads = await call_asgi(service.app, path, headers)
    assert reads == 0
    assert sent[0]["status"] == 413
    headers_out = dict(sent[0]["headers"])
    assert headers_out[b"content-type"] == b"application/json"
    assert headers_out[b"x-request-id"]
    assert b"at most 10485760 bytes" in sent[1]["body"]


async def test_a_lying_content_length_is_413_over_http(service, api_key):
    """A huge declared length with a small body: refused on the header alone."""
    response = await service.client.post(
        I2V,
        headers={"X-API-KEY": api_key, "Content-Length": str(10**12), "Content-Type": "multipart/form-data"},
        content=b"tiny",
    )
    assert response.status_code == 413
    assert "detail" in response.json()


async def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(service, api_key):
    sent = 0

    async def endless_image() -> AsyncIterator[bytes]:
        nonlocal sent
        head = b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
        sent += len(head)
        yield head
        while sent < 4 * body_limit(service):
            sent += CHUNK
            yield b"\0" * CHUNK

    started = time.monotonic()
    response = await service.client.post(
        I2V,
        headers={"X-API-KEY": api_key, "Content-Type": "multipart/form-data; boundary=b"},
        content=endless_image(),
    )
    assert response.status_code == 413, response.text
    assert "detail" in response.json()
    assert response.headers["x-request-id"]
    # Reading stopped right after the limit, not at the end of what the client would send.
    assert body_limit(service) < sent <= body_limit(service) + 2 * CHUNK
    assert time.monotonic() - started < 10
    assert await Task.all().count() == 0


async def test_a_chunked_body_under_the_limit_goes_through(service, api_key):
    image = png()

    async def chunks() -> AsyncIterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
        yield b"Content-Type: image/png\r\n\r\n"
        for start in range(0, len(image), 100):
            yield image[start : start + 100]
        yield b"\r\n--b--\r\n"

    response = await service.client.post(
        I2V,
        headers={"X-API-KEY": api_key, "Content-Type": "multipart/form-data; boundary=b"},
        content=chunks(),
    )
    assert response.status_code == 202, response.text


async def test_other_routes_are_not_limited(service):
    big = b"x" * (body_limit(service) + 1)
    response = await service.client.post(
        "/api/auth/login", content=big, headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 422  # not JSON, so not a login: the upload limit played no part


def png_claiming(width: int, height: int) -> bytes:
    """A tiny real PNG whose header claims another size (IHDR patched, CRC fixed): a bomb's header."""
    data = bytearray(png((64, 64)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))  # the chunk type and its 13 data bytes
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


async def test_a_decompression_bomb_is_422_without_decoding(service, api_key):
    bomb = png_claiming(20_000, 20_000)
    assert len(bomb) < 2_000
    started = time.monotonic()
    response = await service.client.post(
        I2V, headers={"X-API-KEY": api_key}, files={"image": ("bomb.png", bomb, "image/png")}
    )
    assert time.monotonic() - started < 2
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "image"]
    assert "64" in error["msg"] and "4096" in error["msg"]
    assert await Task.all().count() == 0


@pytest.mark.parametrize("size", [(4097, 64), (64, 4097), (63, 100), (100, 63)])
async def test_sides_outside_64_to_4096_are_422_naming_the_limits(service, api_key, size):
    response = await service.client.post(
        I2V, headers={"X-API-KEY": api_key}, files={"image": ("a.png", png_claiming(*size), "image/png")}
    )
    assert response.status_code == 422, response.text
    assert "between 64 and 4096" in response.json()["detail"][0]["msg"]
