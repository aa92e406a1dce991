"""Aggregates on the real document store: one message, one effect, no lost outbox."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from servicekit.aggregates import AggregateStore, Change, Document, Refusal, Stored, handle_once


class Outbox:
    def __init__(self, failures: int = 0) -> None:
        self.published: list[Document] = []
        self.failures = failures

    async def __call__(self, messages: Sequence[Document]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker down")
        self.published.extend(messages)


def add(n: int) -> Any:
    """A decide function: add n to a counter, emit one event, publish it."""

    async def decide(stored: Stored | None) -> Change:
        total = (stored.state["total"] if stored else 0) + n
        event = {"type": "Added", "n": n, "total": total}
        return Change(state={"total": total}, events=[event], outbox=[event])

    return decide


@pytest.fixture
async def store(stack: Any, database_name: str) -> AsyncIterator[AggregateStore]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri)
    yield AggregateStore(client[database_name], f"aggregates_{uuid.uuid4().hex[:6]}")
    await client.close()


async def test_the_same_message_handled_twice_changes_the_aggregate_once(
    store: AggregateStore,
) -> None:
    outbox = Outbox()
    for _ in range(2):
        await handle_once(store, "a-1", "m-1", add(5), outbox)
    stored = await store.load("a-1")
    assert stored is not None
    assert stored.state == {"total": 5}
    assert stored.revision == 1
    assert [e["total"] for e in outbox.published] == [5]


async def test_an_outbox_that_could_not_be_published_is_published_on_redelivery(
    store: AggregateStore,
) -> None:
    outbox = Outbox(failures=1)
    with pytest.raises(ConnectionError):
        await handle_once(store, "a-2", "m-1", add(1), outbox)
    assert outbox.published == []
    await handle_once(store, "a-2", "m-1", add(1), outbox)  # the redelivery
    stored = await store.load("a-2")
    assert stored is not None and stored.published
    assert stored.state == {"total": 1}
    assert [e["total"] for e in outbox.published] == [1]


async def test_a_pending_outbox_is_published_before_the_next_message_and_not_overwritten(
    store: AggregateStore,
) -> None:
    outbox = Outbox(failures=1)
    with pytest.raises(ConnectionError):
        await handle_once(store, "a-3", "m-1", add(1), outbox)
    await handle_once(store, "a-3", "m-2", add(2), outbox)  # m-1 was dead-lettered meanwhile
    assert [e["total"] for e in outbox.published] == [1, 3]


async def test_concurrent_writers_each_apply_once_without_losing_an_update(
    store: AggregateStore,
) -> None:
    # One store object per writer: no shared in-process lock, so they race in the
    # database like replicas do, and only the unique commit ids keep them apart.
    writers = [AggregateStore(store.snapshots.database, store.snapshots.name) for _ in range(4)]
    outbox = Outbox()
    await asyncio.gather(
        *(handle_once(w, "a-4", f"m-{i}", add(1), outbox) for i, w in enumerate(writers))
    )
    fresh = AggregateStore(store.snapshots.database, store.snapshots.name)
    stored = await fresh.load("a-4")
    assert stored is not None
    assert stored.state == {"total": 4}
    assert [e["total"] for e in await fresh.events("a-4")] == [1, 2, 3, 4]
    # A racing writer may publish a newer commit's outbox too (the same messages, so the
    # same ids downstream dedupes by); none is lost and no other is made up.
    assert sorted({e["total"] for e in outbox.published}) == [1, 2, 3, 4]


async def test_messages_for_one_aggregate_in_one_process_are_applied_one_at_a_time(
    store: AggregateStore,
) -> None:
    outbox = Outbox()
    await asyncio.gather(*(handle_once(store, "a-5", f"m-{i}", add(1), outbox) for i in range(6)))
    assert [e["total"] for e in outbox.published] == [1, 2, 3, 4, 5, 6], "in order, once each"


async def test_a_refusal_is_never_decided_on_a_snapshot_that_trails_its_commits(
    store: AggregateStore,
) -> None:
    outbox = Outbox(failures=1)
    with pytest.raises(ConnectionError):
        await handle_once(store, "a-6", "m-1", add(1), outbox)  # commit 1 stored, no snapshot

    async def double_if_started(stored: Stored | None) -> Change | None:
        if stored is None:
            return None  # refused: nothing to double yet
        total = stored.state["total"] * 2
        event = {"type": "Doubled", "total": total}
        return Change(state={"total": total}, events=[event], outbox=[event])

    stored = (await handle_once(store, "a-6", "m-2", double_if_started, outbox)).stored
    assert stored is not None and stored.state == {"total": 2}
    assert [e["total"] for e in outbox.published] == [1, 2]


async def test_a_message_stored_beyond_the_snapshot_is_not_applied_again(
    store: AggregateStore,
) -> None:
    outbox = Outbox(failures=1)
    with pytest.raises(ConnectionError):
        await handle_once(store, "a-7", "m-1", add(3), outbox)
    stored = (await handle_once(store, "a-7", "m-1", add(3), outbox)).stored  # the redelivery
    assert stored is not None and (stored.revision, stored.state) == (1, {"total": 3})
    assert [e["total"] for e in outbox.published] == [3]


def answer(kind: str, n: int = 0) -> Any:
    """A decide function that accepts (adds n) or refuses, answering on topic "t"."""

    async def decide(stored: Stored | None) -> Change | Refusal:
        if kind == "refuse":
            return Refusal([{"topic": "t", "type": "Refused"}])
        total = (stored.state["total"] if stored else 0) + n
        event = {"topic": "t", "type": "Added", "total": total}
        return Change(state={"total": total}, events=[event], outbox=[event])

    return decide


async def test_X09_an_acceptance_and_a_refusal_of_one_message_race_and_one_answer_survives(
    store: AggregateStore,
) -> None:
    writers = [AggregateStore(store.snapshots.database, store.snapshots.name) for _ in range(8)]
    outbox = Outbox()
    await asyncio.gather(
        *(
            handle_once(
                w, "a-8", "m-1", answer("refuse" if i % 2 else "accept", 1), outbox, answers_on="t"
            )
            for i, w in enumerate(writers)
        )
    )
    stored = await AggregateStore(store.snapshots.database, store.snapshots.name).load("a-8")
    assert stored is not None and stored.revision == 1, "one commit for the one message"
    [survivor] = {e["type"] for e in outbox.published}
    assert survivor == ("Added" if stored.exists else "Refused")
    # Every writer answers (a loser may also publish the winner's pending outbox): copies.
    assert len(outbox.published) >= len(writers)
    assert all(e == outbox.published[0] for e in outbox.published)


async def test_X09_a_refused_message_is_refused_again_after_the_aggregate_came_to_exist(
    store: AggregateStore,
) -> None:
    outbox = Outbox()
    await handle_once(store, "a-9", "m-1", answer("refuse"), outbox, answers_on="t")
    await handle_once(store, "a-9", "m-2", answer("accept", 1), outbox, answers_on="t")
    await handle_once(store, "a-9", "m-1", answer("accept", 5), outbox, answers_on="t")
    stored = await store.load("a-9")
    assert stored is not None and (stored.revision, stored.state) == (2, {"total": 1})
    assert [e["type"] for e in outbox.published] == ["Refused", "Added", "Refused"]


async def test_a_store_whose_commits_hold_only_events_loads_past_its_snapshot_by_folding(
    store: AggregateStore,
) -> None:
    """Issue 18: each fact once. With a fold, a commit keeps its events, not the state."""

    def totals(_: str, state: Document, events: list[Document]) -> Document:
        return {"total": events[-1]["total"]} if events else state

    folding = AggregateStore(store.snapshots.database, store.snapshots.name, fold=totals)
    outbox = Outbox()
    await handle_once(folding, "a-8", "m-1", add(2), outbox)
    outbox.failures = 1
    with pytest.raises(ConnectionError):
        await handle_once(folding, "a-8", "m-2", add(3), outbox)  # commit 2, no snapshot
    commit = await folding._commit("a-8", 2)
    assert commit is not None and "state" not in commit
    assert commit["outbox"] == [{"event": 0}], "the outbox refers to the event, no copy"
    stored = (await handle_once(folding, "a-8", "m-3", add(4), outbox)).stored
    assert stored is not None and (stored.revision, stored.state) == (3, {"total": 9})
    assert [e["total"] for e in outbox.published] == [2, 5, 9]
    snapshot = await folding._snapshot("a-8")
    assert snapshot is not None and "events" not in snapshot
    assert snapshot["processed"] == ["m-1", "m-2", "m-3"]
