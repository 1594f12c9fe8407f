"""Real image bytes made with Pillow."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (96, 80), color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def png(size: tuple[int, int] = (96, 80)) -> bytes:
    return image_bytes("PNG", size)
