"""Where copies are kept: beside the blob store's images, under keys the image sweep leaves alone
(the directory BLOB_DIR/outputs, or the bucket's BLOB_S3_PREFIX + "outputs/").

A download is spooled to a temporary file in BLOB_DIR/outputs, chunk by chunk, fsynced, then
committed: renamed into place (the local store), or uploaded from that file and deleted (S3). A
crash leaves only a temporary file, which the next try of the same key deletes first."""

import contextlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anyio
from fastapi.responses import FileResponse, RedirectResponse, Response

from src.blobs import BlobStore, LocalBlobStore
from src.blobs.store import TEMP_PREFIX, fsync_directory
from src.core.config import Settings

SUBDIRECTORY = "outputs"
PRESIGNED_SECONDS = 300  # an S3 copy is served as a redirect to a URL valid this long


def _unlink(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class Spool:
    """The temporary files of downloads under way, in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.spool_dir = directory

    async def spool_path(self, key: str) -> Path:
        """A new temporary file's path for `key` (the directory is made on the first download)."""
        await anyio.Path(self.spool_dir).mkdir(parents=True, exist_ok=True)
        return self.spool_dir / f"{TEMP_PREFIX}{key}.{secrets.token_hex(4)}"

    async def discard_unfinished(self, key: str) -> None:
        """Deletes what an earlier, interrupted try of `key` left (its caller holds the key's claim)."""
        await anyio.to_thread.run_sync(_unlink, list(self.spool_dir.glob(f"{TEMP_PREFIX}{key}.*")))


class LocalOutputs(Spool):
    """A file per key in BLOB_DIR/outputs, served by Starlette's FileResponse (Content-Length, ETag,
    Last-Modified, Range)."""

    def _commit(self, spooled: Path, key: str) -> None:
        os.replace(spooled, self.spool_dir / key)
        fsync_directory(self.spool_dir)

    async def commit(self, spooled: Path, key: str, media_type: str) -> None:
        await anyio.to_thread.run_sync(self._commit, spooled, key)

    async def size(self, key: str) -> int | None:
        path = anyio.Path(self.spool_dir / key)
        return (await path.stat()).st_size if await path.is_file() else None

    async def delete(self, keys: Iterable[str]) -> None:
        await anyio.to_thread.run_sync(_unlink, [self.spool_dir / key for key in keys])

    async def response(self, key: str, media_type: str) -> Response | None:
        path = self.spool_dir / key
        return FileResponse(path, media_type=media_type) if await anyio.Path(path).is_file() else None


class S3Outputs(Spool):
    """Objects under BLOB_S3_PREFIX + "outputs/", served as a redirect to a presigned GET."""

    def __init__(self, store: Any, spool_dir: Path) -> None:
        from src.blobs.s3 import S3BlobStore  # aiobotocore is loaded only when a bucket is used

        super().__init__(spool_dir)
        self.client, self.bucket, self.prefix = store.client, store.bucket, f"{store.prefix}{SUBDIRECTORY}/"
        self.objects = S3BlobStore(self.client, self.bucket, self.prefix)  # for its batched delete

    async def commit(self, spooled: Path, key: str, media_type: str) -> None:
        with spooled.open("rb") as body:
            await self.client.put_object(
                Bucket=self.bucket, Key=self.prefix + key, Body=body, ContentType=media_type
            )

    async def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError  # botocore is loaded only when a bucket is used

        from src.blobs.s3 import MISSING

        try:
            head = await self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING:
                return None
            raise
        return int(head["ContentLength"])

    async def delete(self, keys: Iterable[str]) -> None:
        await self.objects.delete(keys)

    async def response(self, key: str, media_type: str) -> Response | None:
        url = await self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.prefix + key, "ResponseContentType": media_type},
            ExpiresIn=PRESIGNED_SECONDS,
        )
        return RedirectResponse(url, status_code=307)


def outputs_in(blobs: BlobStore, settings: Settings) -> LocalOutputs | S3Outputs:
    """The copies' store beside `blobs`."""
    directory = settings.blob_dir / SUBDIRECTORY
    return LocalOutputs(directory) if isinstance(blobs, LocalBlobStore) else S3Outputs(blobs, directory)
