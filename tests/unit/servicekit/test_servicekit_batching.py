"""Grouped writes: one store call for what queued meanwhile, each caller its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from servicekit.batching import Outcomes, WriteBatcher


class Store:
    """A write that takes a moment, records each call, and fails the items it is told to."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.calls: list[list[str]] = []
        self.failing = failing

    async def write(self, items: Sequence[str]) -> Outcomes:
        self.calls.append(list(items))
        await asyncio.sleep(0.01)
        return [KeyError(i) if i in self.failing else None for i in items]


async def test_a_lone_write_goes_at_once_in_a_call_of_its_own() -> None:
    store = Store()
    await WriteBatcher(store.write).submit("a")
    assert store.calls == [["a"]]


async def test_writes_that_queue_while_a_call_runs_go_together_in_the_next_call() -> None:
    store = Store()
    batcher = WriteBatcher(store.write)
    first = asyncio.create_task(batcher.submit("a"))
    await asyncio.sleep(0.001)  # "a" is in the store now
    await asyncio.gather(first, *(batcher.submit(x) for x in "bcd"))
    assert store.calls == [["a"], ["b", "c", "d"]]


async def test_a_batch_never_exceeds_its_limit() -> None:
    store = Store()
    batcher = WriteBatcher(store.write, max_batch=2)
    await asyncio.gather(*(batcher.submit(x) for x in "abcde"))
    assert store.calls == [["a", "b"], ["c", "d"], ["e"]]


async def test_each_caller_gets_its_own_items_error_and_the_others_succeed() -> None:
    store = Store(failing=frozenset({"b"}))
    batcher = WriteBatcher(store.write)
    results = await asyncio.gather(*(batcher.submit(x) for x in "abc"), return_exceptions=True)
    assert [type(r).__name__ if r else None for r in results] == [None, "KeyError", None]
    assert store.calls == [["a", "b", "c"]]


async def test_a_failed_call_fails_every_item_it_carried() -> None:
    async def unreachable(items: Sequence[str]) -> Outcomes:
        raise ConnectionError("store unreachable")

    batcher = WriteBatcher(unreachable)
    with pytest.raises(ConnectionError):
        await batcher.submit("a")
    results = await asyncio.gather(*(batcher.submit(x) for x in "bc"), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
