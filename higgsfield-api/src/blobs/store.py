"""A store of blobs by key, and the local one: a file per key, written to a temporary file that is
fsynced, renamed and its directory fsynced, so a put survives a power loss and no reader sees half
a file. File work runs in a worker thread, off the event loop."""

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

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, keys: Iterable[str]) -> None:
        """Deletes the blobs of `keys`; a key without a blob is no error."""

    async def older_than(self, moment: datetime) -> list[str]:
        """Keys of the blobs written before `moment`, and of unfinished writes started before it
        (those keys start with TEMP_PREFIX: nothing will ever finish them)."""


def _valid(key: str) -> str:
    if not key or "/" in key or "\\" in key or key.startswith("."):
        raise ValueError(f"not a blob key: {key!r}")
    return key


def fsync_directory(directory: Path) -> None:
    """Makes the renames into `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _put(self, key: str, data: bytes) -> None:
        temp = self.directory / f"{TEMP_PREFIX}{key}.{secrets.token_hex(4)}"
        try:
            with open(temp, "xb", opener=lambda path, flags: os.open(path, flags, 0o600)) as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, self.directory / key)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        fsync_directory(self.directory)

    def _older_than(self, moment: float) -> list[str]:
        found = []
        with os.scandir(self.directory) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                    if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < moment:
                        found.append(entry.name)
        return found

    async def put(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._put, _valid(key), data)

    async def get(self, key: str) -> bytes | None:
        try:
            return await anyio.Path(self.directory, _valid(key)).read_bytes()
        except FileNotFoundError:
            return None

    async def delete(self, keys: Iterable[str]) -> None:
        # Unfinished writes (TEMP_PREFIX) are deleted by the sweep as well.
        for key in keys:
            if key and "/" not in key and "\\" not in key:
                await anyio.Path(self.directory, key).unlink(missing_ok=True)

    async def older_than(self, moment: datetime) -> list[str]:
        return await anyio.to_thread.run_sync(self._older_than, moment.astimezone(UTC).timestamp())


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[BlobStore]:
    """The bucket BLOB_S3_BUCKET when set, else the directory BLOB_DIR; open while the app runs."""
    if settings.blob_s3_bucket:
        from src.blobs.s3 import s3_store  # aiobotocore is loaded only when a bucket is used

        async with s3_store(settings) as store:
            yield store
    else:
        yield LocalBlobStore(settings.blob_dir)
