"""A large output for the copy row of the bench: a file served in 1 MiB chunks (never whole in
this process either), and a completed task pointed at it for the service to copy again."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

PATH = "/big.mp4"
CHUNK = 1024 * 1024


def app(size: int) -> FastAPI:
    served = FastAPI()

    @served.get(PATH)
    async def big() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, size, CHUNK):
                yield bytes(min(CHUNK, size - start))

        return StreamingResponse(chunks(), media_type="video/mp4", headers={"Content-Length": str(size)})

    return served


def point_task_at(sqlite_path: Path, blob_dir: Path, task_id: str, url: str) -> None:
    """The task's video is now `url`, its thumbnail none, and its copy due again (the one stored is
    deleted: the copy job takes a stored file for the work of an earlier try)."""
    for stored in (blob_dir / "outputs").glob(f"{task_id}.*"):
        stored.unlink()
    with sqlite3.connect(sqlite_path) as db:
        db.execute(
            "UPDATE tasks SET video_url = ?, thumbnail_url = NULL, output_state = 'pending', "
            "output_attempts = 0, output_next_at = '2000-01-01 00:00:00+00:00' WHERE id = ?",
            (url, task_id),
        )
