"""Presigned-style uploads: the URL carries its content type and expiry under an HMAC, so any
worker accepts the PUT; the bytes stay in a bounded store in the memory of the worker that got them."""

import hashlib
import hmac
import threading
import time
import uuid
from collections import OrderedDict
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import HTTPException, Request, Response
from PIL import Image

from src.sandbox.protocol import IMAGE_TYPES, not_found

MIB = 1024 * 1024
UPLOAD_URL_SECONDS = 3600
MAX_UPLOAD_BYTES = 50 * MIB
_PILLOW_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type Pillow finds in the bytes, or None."""
    try:
        with Image.open(BytesIO(data)) as image:
            found = image.format
            image.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return _PILLOW_FORMATS.get(found or "")


class UploadSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _signature(self, file_name: str, content_type: str, expires: str) -> str:
        message = f"{file_name}\n{content_type}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def new_upload(self, base: str, content_type: str, *, with_headers: bool = True) -> dict[str, Any]:
        content_type = content_type.strip().lower()
        if content_type not in IMAGE_TYPES:
            allowed = ", ".join(IMAGE_TYPES)
            raise HTTPException(400, f"Unsupported content type {content_type!r}; allowed: {allowed}")
        file_name = f"{uuid.uuid4().hex}.{IMAGE_TYPES[content_type]}"
        expires = str(int(time.time()) + UPLOAD_URL_SECONDS)
        signature = self._signature(file_name, content_type, expires)
        query = urlencode({"content_type": content_type, "expires": expires, "signature": signature})
        return {
            "public_url": f"{base}/files/{file_name}",
            "upload_url": f"{base}/uploads/{file_name}?{query}",
            "content_type": content_type,
            "upload_headers": {"Content-Type": content_type} if with_headers else None,
        }

    async def receive(self, request: Request, file_name: str) -> tuple[bytes, str]:
        """The checked bytes of a PUT and their type; 403 for a bad or expired URL, 400 for a mismatch."""
        query = request.query_params
        content_type, expires = query.get("content_type", ""), query.get("expires", "")
        expected = self._signature(file_name, content_type, expires)
        if not hmac.compare_digest(query.get("signature", "").encode(), expected.encode()):
            raise HTTPException(403, "Invalid upload signature")
        if not expires.isdigit() or int(expires) < time.time():
            raise HTTPException(403, "Upload URL expired")
        declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if declared != content_type:
            raise HTTPException(400, f"Content-Type must be {content_type}, got {declared or 'none'}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPLOAD_BYTES:
                raise HTTPException(413, "Upload too large")
        data = bytes(body)
        if await anyio.to_thread.run_sync(sniff_image_type, data) != content_type:
            raise HTTPException(400, f"The uploaded bytes are not a {content_type} image")
        return data, content_type


class UploadStore:
    """The newest uploads, bounded by count and total size; the oldest go first."""

    def __init__(self, max_items: int = 200, max_bytes: int = 200 * MIB) -> None:
        self._max_items, self._max_bytes = max_items, max_bytes
        self._files: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()  # tests read it from their own thread

    def put(self, file_name: str, data: bytes, content_type: str) -> None:
        with self._lock:
            old = self._files.pop(file_name, None)
            self._size -= len(old[0]) if old else 0
            self._files[file_name] = (data, content_type)
            self._size += len(data)
            while len(self._files) > self._max_items or self._size > self._max_bytes:
                evicted, _ = self._files.popitem(last=False)[1]
                self._size -= len(evicted)

    def drop(self, file_name: str) -> None:
        with self._lock:
            old = self._files.pop(file_name, None)
            self._size -= len(old[0]) if old else 0

    def response(self, file_name: str) -> Response:
        with self._lock:
            stored = self._files.get(file_name)
        if stored is None:
            raise not_found()
        return Response(stored[0], media_type=stored[1])

    def files(self) -> list[tuple[bytes, str]]:
        with self._lock:
            return list(self._files.values())

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
            self._size = 0
