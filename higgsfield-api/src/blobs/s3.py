"""A blob store in an S3-compatible bucket, for replicas on several hosts. A PUT answered 200 is
durable (S3 writes an object whole or not at all), as the local store's fsync is. Keys are
`BLOB_S3_PREFIX` + the blob's key; the sweep lists that prefix only."""

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError

from src.core.config import Settings

DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes
MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class S3BlobStore:
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    async def put(self, key: str, data: bytes) -> None:
        await self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)

    async def get(self, key: str) -> bytes | None:
        try:
            answer = await self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING:
                return None
            raise
        async with answer["Body"] as body:
            return await body.read()

    async def delete(self, keys: Iterable[str]) -> None:
        names = [self.prefix + key for key in keys if key]
        for start in range(0, len(names), DELETE_BATCH):
            objects = [{"Key": name} for name in names[start : start + DELETE_BATCH]]
            await self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})

    async def older_than(self, moment: datetime) -> list[str]:
        found = []
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        async for page in pages:
            for item in page.get("Contents", []):
                if item["LastModified"] < moment:
                    found.append(item["Key"][len(self.prefix) :])
        return found


@asynccontextmanager
async def s3_store(settings: Settings) -> AsyncIterator[S3BlobStore]:
    credentials = {}
    if settings.blob_s3_access_key_id and settings.blob_s3_secret_access_key:
        credentials = {
            "aws_access_key_id": settings.blob_s3_access_key_id.get_secret_value(),
            "aws_secret_access_key": settings.blob_s3_secret_access_key.get_secret_value(),
        }
    client = get_session().create_client(
        "s3",
        endpoint_url=settings.blob_s3_endpoint_url,
        region_name=settings.blob_s3_region,
        config=Config(retries={"mode": "standard"}),
        **credentials,
    )
    async with client as opened:
        yield S3BlobStore(opened, str(settings.blob_s3_bucket), settings.blob_s3_prefix)
