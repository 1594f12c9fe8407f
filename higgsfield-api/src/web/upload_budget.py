"""A byte budget shared by the uploads a worker processes at once (a create holds its image several
times over): an upload that does not fit waits before its body is read, its bytes left in the socket."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ByteBudget:
    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self._changed = asyncio.Condition()  # bound to the loop that first waits on it

    @asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        """Waits until `size` bytes (at most the whole budget) are free, holds them, gives them back."""
        size = min(size, self.total)
        async with self._changed:
            await self._changed.wait_for(lambda: self.free >= size)
            self.free -= size
        try:
            yield
        finally:
            async with self._changed:
                self.free += size
                self._changed.notify_all()
