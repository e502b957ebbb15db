"""A bound on the memory that pushed bodies take in one server process.

A pushed batch is read whole, parsed and applied: its memory is several times its
size while the request runs (a 32 MiB body becomes a few hundred MiB of Python
objects). Without a bound, ten tills pushing their largest batch at once would
need ten times that. So each push holds a share of a byte budget, the size its
Content-Length declares (the body limit when it declares none), from before its
body is read until its answer is ready. A push that does not fit waits, in
arrival order (a big one is never overtaken for ever by small ones), with its
body left unread in the socket: uvicorn stops reading from a connection whose
body the app is not consuming, so a waiting push costs a few KiB.

One push larger than the whole budget still runs, alone. Not bound to an event
loop when made (the futures are made by the loop that waits), so one budget
serves an app whatever loop runs it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress


class ByteBudget:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    def _fits(self, size: int) -> bool:
        return self.in_use == 0 or self.in_use + size <= self.capacity

    @asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        if not self._waiting and self._fits(size):
            self.in_use += size
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (size, future)
            self._waiting.append(entry)
            try:
                await future
            except BaseException:
                if future.done() and not future.cancelled():
                    self._release(size)  # granted just as it was cancelled
                else:
                    with suppress(ValueError):
                        self._waiting.remove(entry)
                    self._wake()
                raise
        try:
            yield
        finally:
            self._release(size)

    def _release(self, size: int) -> None:
        self.in_use -= size
        self._wake()

    def _wake(self) -> None:
        while self._waiting and self._fits(self._waiting[0][0]):
            size, future = self._waiting.popleft()
            if future.done():  # cancelled meanwhile: its waiter removes nothing more
                continue
            self.in_use += size
            future.set_result(None)
