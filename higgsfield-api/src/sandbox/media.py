"""The files the sandbox hands out as generation results: a tiny H.264 MP4 and its thumbnail.

Made once with ffmpeg and kept in the repository (not a dependency): 2 s of `testsrc2` at
64x64, 12 fps, H.264 baseline, yuv420p, `+faststart`; the thumbnail is its first frame.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import Response

from src.sandbox.protocol import not_found

ASSET_DIR = Path(__file__).with_name("assets")
MEDIA_TYPES: dict[str, str] = {"video.mp4": "video/mp4", "thumbnail.jpg": "image/jpeg"}


@cache
def asset_bytes(name: str) -> bytes:
    """Read once per process: a few KB that every completed job serves."""
    return (ASSET_DIR / name).read_bytes()


def asset_response(name: str) -> Response:
    if name not in MEDIA_TYPES:
        raise not_found()
    return Response(asset_bytes(name), media_type=MEDIA_TYPES[name])
