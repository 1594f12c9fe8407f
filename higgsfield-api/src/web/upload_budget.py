"""A byte budget shared by the uploads a worker is processing at once.

A 10 MiB image is held several times over while a create runs (read from the form, then
bound into the INSERT by the database driver). Fifty at once took a worker past 600 MB.
An upload takes its declared size from the budget before its body is read and gives it back
when its answer has gone out; one that does not fit waits, its bytes left in the socket
(uvicorn stops reading a connection whose body the app is not reading). Small uploads
hardly touch it: a 64 KiB image takes 1/256 of the default 16 MiB, which holds one 10 MiB
upload at a time (measured: 50 at once, peak ~200-250 MB with the budget, over 600 MB without).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ByteBudget:
    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self._changed: asyncio.Condition | None = None  # made in the serving loop, at first use

    @asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        """Waits until `size` bytes (at most the whole budget) are free, holds them, gives them back."""
        size = min(size, self.total)
        if self._changed is None:
            self._changed = asyncio.Condition()
        changed = self._changed
        async with changed:
            await changed.wait_for(lambda: self.free >= size)
            self.free -= size
        try:
            yield
        finally:
            async with changed:
                self.free += size
                changed.notify_all()
