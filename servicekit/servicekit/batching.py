"""Group writes: concurrent handlers share one store round trip instead of one each.

FerretDB on SQLite spends most of a write on the statement and transaction around it:
one `insert_many` of 32 documents costs about a third of 32 `insert_one`s (measured in
docs/benchmarks.md). So writes are *naturally* batched:

    write(a) ─▶ queue [a]      ─▶ no batch running: start one with [a]
    write(b) ─▶ queue [b]      ─┐ while [a] is in the store, b, c, d wait here...
    write(c) ─▶ queue [b, c]    │
    write(d) ─▶ queue [b, c, d]─┘ ...and go together as soon as [a] returns

A lone write goes at once (no timer, no added latency); under load, batches form by
themselves. Each caller gets its own outcome: its document's error, or success.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

#: One outcome per item of a batch, in order: None for success, else that item's error.
Outcomes = list[BaseException | None]
Write = Callable[[Sequence[T]], Awaitable[Outcomes]]


class WriteBatcher(Generic[T]):
    """Queue items; write what has queued in one call while the previous call runs."""

    def __init__(self, write: Write[T], max_batch: int = 64) -> None:
        self._write = write
        self._max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        """Write `item` (with whatever else is waiting); raise its own error, if any."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                outcomes = await self._write([item for item, _ in batch])
            except Exception as e:  # the whole call failed (e.g. the store is unreachable)
                outcomes = [e] * len(batch)
            for (_, future), error in zip(batch, outcomes, strict=True):
                if future.done():  # its caller was cancelled; the write happened anyway
                    continue
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)
