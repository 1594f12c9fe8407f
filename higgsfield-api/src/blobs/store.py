"""A store of blobs by key: put durably, get, delete, and list what is older than a moment.

The local store keeps one file per key in one directory. A put writes a temporary file in that
directory, fsyncs it, renames it over the key's name and fsyncs the directory: once `put`
returns, the blob survives a `kill -9` or a power loss, and a reader never sees half a file.
File work runs in a worker thread (`anyio.to_thread.run_sync`), off the event loop.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import anyio

from src.core.config import Settings

TEMP_PREFIX = ".tmp-"


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Stores `data` under `key`, durably, before returning."""

    async def get(self, key: str) -> bytes | None:
        """The blob of `key`, or None when there is none."""

    async def delete(self, keys: Iterable[str]) -> None:
        """Deletes the blobs of `keys`; a key without a blob is no error."""

    async def older_than(self, moment: datetime) -> list[str]:
        """Keys of the blobs written before `moment`, and of unfinished writes started before it
        (those keys start with TEMP_PREFIX: nothing will ever finish them)."""


def _valid(key: str) -> str:
    if not key or "/" in key or "\\" in key or key.startswith("."):
        raise ValueError(f"not a blob key: {key!r}")
    return key


class LocalBlobStore:
    """One file per key in `directory` (made at start)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _put(self, key: str, data: bytes) -> None:
        temp = self.directory / f"{TEMP_PREFIX}{key}.{secrets.token_hex(4)}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, self.directory / key)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        self._sync_directory()

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _get(self, key: str) -> bytes | None:
        try:
            return (self.directory / key).read_bytes()
        except FileNotFoundError:
            return None

    def _delete(self, keys: list[str]) -> None:
        for key in keys:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / key).unlink()

    def _older_than(self, moment: float) -> list[str]:
        found = []
        with os.scandir(self.directory) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < moment:
                        found.append(entry.name)
                except FileNotFoundError:  # deleted meanwhile
                    continue
        return found

    async def put(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._put, _valid(key), data)

    async def get(self, key: str) -> bytes | None:
        return await anyio.to_thread.run_sync(self._get, _valid(key))

    async def delete(self, keys: Iterable[str]) -> None:
        # Unfinished writes (TEMP_PREFIX) are deleted by the sweep as well.
        names = [key for key in keys if key and "/" not in key and "\\" not in key]
        if names:
            await anyio.to_thread.run_sync(self._delete, names)

    async def older_than(self, moment: datetime) -> list[str]:
        return await anyio.to_thread.run_sync(self._older_than, moment.astimezone(UTC).timestamp())


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[BlobStore]:
    """The store the settings name, open while the app runs: the bucket BLOB_S3_BUCKET when
    set (src/blobs/s3.py), otherwise the local directory BLOB_DIR."""
    if settings.blob_s3_bucket:
        from src.blobs.s3 import s3_store  # aiobotocore is loaded only when a bucket is used

        async with s3_store(settings) as store:
            yield store
    else:
        yield LocalBlobStore(settings.blob_dir)
