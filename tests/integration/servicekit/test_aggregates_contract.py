"""One contract for every `Aggregates` store: the in-memory twin and the real FerretDB.

The same tests run against both (the way pyeventsourcing tests every recorder), so the
twin the unit tests stand on cannot drift from the store the services use (issue 18).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from servicekit.aggregates import (
    Aggregates,
    AggregateStore,
    Change,
    ConcurrentUpdateError,
    Document,
    Fold,
    MemoryAggregates,
    Refusal,
    Stored,
    cached,
    forget_cached,
    handle_once,
)

Make = Callable[..., Aggregates]


class Outbox:
    def __init__(self) -> None:
        self.published: list[Document] = []
        self.failures = 0

    async def __call__(self, messages: Sequence[Document]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker down")
        self.published.extend(messages)


def add(n: int) -> Any:
    async def decide(stored: Stored | None) -> Change:
        total = (stored.state["total"] if stored else 0) + n
        event = {"type": "Added", "n": n, "total": total}
        entry = {
            "topic": "events",
            "key": "k",
            "value": f'{{"type":"Added","n":{n},"total":{total}}}',
        }
        return Change(
            state={"total": total}, events=[event], outbox=[entry], index={"total": total}
        )

    return decide


def refuse(reason: str) -> Any:
    async def decide(_: Stored | None) -> Refusal:
        return Refusal([{"topic": "events", "key": "k", "value": f'"{reason}"'}], reason)

    return decide


def totals(_: str, state: Document, events: list[Document]) -> Document:
    return {"total": events[-1]["total"]} if events else state


@pytest.fixture(params=["memory", "ferretdb"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """A factory of stores on one set of documents: each call is another writer."""
    if request.param == "memory":
        first: dict[str, MemoryAggregates] = {}

        def memory(fold: Fold | None = None) -> Aggregates:
            if "store" not in first:
                first["store"] = MemoryAggregates(fold)
                return first["store"]
            twin = first["store"].twin()
            twin.fold = fold
            return twin

        yield memory
        return
    stack = request.getfixturevalue("stack")
    database_name = request.getfixturevalue("database_name")
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri)
    name = f"contract_{uuid.uuid4().hex[:6]}"
    yield lambda fold=None: AggregateStore(client[database_name], name, fold)
    await client.close()


async def test_a_commit_is_inserted_and_read_back(make: Make) -> None:
    store = make()
    saved = await store.save("a", None, "m-1", Change({"total": 1}, [{"total": 1}], []))
    loaded = await store.load("a")
    assert loaded is not None
    assert (loaded.revision, loaded.state, loaded.processed) == (1, {"total": 1}, ["m-1"])
    assert saved.revision == 1
    assert await store.events("a") == [{"total": 1}]


async def test_a_second_commit_of_the_same_revision_conflicts(make: Make) -> None:
    store = make()
    await store.save("a", None, "m-1", Change({"total": 1}, [], []))
    with pytest.raises(ConcurrentUpdateError):
        await make().save("a", None, "m-2", Change({"total": 2}, [], []))
    loaded = await store.load("a")
    assert loaded is not None and (loaded.revision, loaded.processed) == (1, ["m-1"])


async def test_the_snapshot_holds_the_state_and_the_window_not_the_events(make: Make) -> None:
    store, outbox = make(), Outbox()
    await handle_once(store, "a", "m-1", add(2), outbox)
    await handle_once(store, "a", "m-2", add(3), outbox)
    snapshot = await store.load_snapshot("a")
    assert snapshot is not None
    assert (snapshot.revision, snapshot.state, snapshot.processed) == (
        2,
        {"total": 5},
        ["m-1", "m-2"],
    )
    assert snapshot.published and snapshot.outbox == []
    assert snapshot.index == {"total": 5}
    assert not await store.has_newer("a", snapshot)
    assert [e["total"] for e in await store.events("a")] == [2, 5]
    assert await store.ids_where("total", 5) == ["a"]


async def test_a_refusal_is_recorded_and_answered_again_without_a_new_decision(
    make: Make,
) -> None:
    store, outbox = make(), Outbox()
    handled = await handle_once(store, "a", "m-1", refuse("unknown"), outbox, answers_on="events")
    assert handled.refusal is not None and handled.refusal.reason == "unknown"
    assert handled.stored is not None and not handled.stored.exists
    await handle_once(store, "a", "m-2", add(1), outbox)
    again = await handle_once(store, "a", "m-1", add(100), outbox, answers_on="events")
    assert again.decided is None and again.stored is not None
    assert again.stored.state == {"total": 1}
    assert [e["value"] for e in outbox.published] == [
        '"unknown"',
        '{"type":"Added","n":1,"total":1}',
        '"unknown"',
    ]


async def test_a_redelivery_is_found_and_changes_nothing(make: Make) -> None:
    store, outbox = make(), Outbox()
    first = await handle_once(store, "a", "m-1", add(5), outbox, answers_on="events")
    second = await handle_once(store, "a", "m-1", add(5), outbox, answers_on="events")
    assert first.stored is not None and second.stored is not None
    assert (second.stored.revision, second.stored.state) == (1, {"total": 5})
    assert second.decided is None
    assert [e["value"] for e in outbox.published] == ['{"type":"Added","n":5,"total":5}'] * 2


async def test_a_pending_outbox_is_listed_then_published_and_cleared(make: Make) -> None:
    store, outbox = make(), Outbox()
    outbox.failures = 1
    with pytest.raises(ConnectionError):
        await handle_once(store, "a", "m-1", add(1), outbox)
    pending = await store.load("a")
    assert pending is not None and not pending.published
    assert [e["topic"] for e in pending.outbox] == ["events"]
    await handle_once(store, "a", "m-2", add(2), outbox)
    assert [e["value"] for e in outbox.published] == [
        '{"type":"Added","n":1,"total":1}',
        '{"type":"Added","n":2,"total":3}',
    ]
    cleared = await store.load_snapshot("a")
    assert cleared is not None and cleared.published and cleared.outbox == []


async def test_a_folding_store_keeps_no_state_in_commits_and_loads_past_its_snapshot(
    make: Make,
) -> None:
    store, outbox = make(totals), Outbox()
    await handle_once(store, "a", "m-1", add(2), outbox)
    outbox.failures = 1
    with pytest.raises(ConnectionError):
        await handle_once(store, "a", "m-2", add(3), outbox)  # commit 2, no snapshot of it
    loaded = await make(totals).load("a")
    assert loaded is not None and (loaded.revision, loaded.state) == (2, {"total": 5})
    assert loaded.processed == ["m-1", "m-2"]


async def test_racing_writers_each_apply_once(make: Make) -> None:
    writers = [make() for _ in range(4)]
    outbox = Outbox()
    await asyncio.gather(
        *(handle_once(w, "a", f"m-{i}", add(1), outbox) for i, w in enumerate(writers))
    )
    loaded = await make().load("a")
    assert loaded is not None and loaded.state == {"total": 4}
    assert [e["total"] for e in await make().events("a")] == [1, 2, 3, 4]


async def test_a_stale_cached_state_loses_to_another_writer_and_reloads(make: Make) -> None:
    mine, theirs, outbox = make(), make(), Outbox()
    await handle_once(mine, "a", "m-1", add(1), outbox)  # `mine` keeps revision 1 in memory
    await handle_once(theirs, "a", "m-2", add(2), outbox)  # e.g. the owner during a rebalance
    handled = await handle_once(mine, "a", "m-3", add(3), outbox)
    assert handled.stored is not None and (handled.stored.revision, handled.stored.state) == (
        3,
        {"total": 6},
    )
    assert [e["total"] for e in await make().events("a")] == [1, 3, 6]
    # The cache now holds the reloaded state: the next message needs no reload.
    nxt = await handle_once(mine, "a", "m-4", add(4), outbox)
    assert nxt.stored is not None and nxt.stored.state == {"total": 10}


async def test_a_message_handled_by_another_writer_is_not_decided_again_from_the_cache(
    make: Make,
) -> None:
    mine, theirs, outbox = make(), make(), Outbox()
    await handle_once(mine, "a", "m-1", add(1), outbox, answers_on="events")
    await handle_once(theirs, "a", "m-2", add(2), outbox, answers_on="events")
    again = await handle_once(mine, "a", "m-2", add(2), outbox, answers_on="events")
    assert again.decided is None
    assert [e["total"] for e in await make().events("a")] == [1, 3]
    assert [e["value"] for e in outbox.published][-2:] == ['{"type":"Added","n":2,"total":3}'] * 2


async def test_fresh_on_an_existing_aggregate_fails_the_first_insert_and_decides_again(
    make: Make,
) -> None:
    store, outbox = make(), Outbox()
    await handle_once(store, "a", "m-1", add(1), outbox)
    forget_cached()  # e.g. a restart: nothing in memory
    handled = await handle_once(make(), "a", "m-2", add(2), outbox, fresh=True)
    assert handled.stored is not None and handled.stored.state == {"total": 3}
    assert [e["total"] for e in await make().events("a")] == [1, 3]


async def test_a_batch_delivered_twice_has_its_effects_once_and_the_same_answers(
    make: Make,
) -> None:
    """At least once delivery, exactly once effects: a batch handled again after a crash
    before its offsets were committed (by a new owner, with nothing in memory, and by
    the same owner) stores nothing new and answers with the very same messages."""
    outbox = Outbox()
    batch = [(f"agg-{i}", f"m-{i}", i + 1) for i in range(8)]

    async def deliver(store: Aggregates) -> None:
        await asyncio.gather(
            *(
                handle_once(store, a, m, add(n), outbox, answers_on="events", fresh=True)
                for a, m, n in batch
            )
        )

    first = make()
    await deliver(first)
    answers = list(outbox.published)
    await deliver(make())  # the next owner
    await deliver(first)  # the same owner, its cache warm
    for a, _, n in batch:
        assert [e["total"] for e in await make().events(a)] == [n]
    values = sorted(e["value"] for e in answers)
    assert len(values) == len(batch)
    assert sorted(e["value"] for e in outbox.published) == sorted(values * 3)


async def test_forgetting_the_cache_reads_the_store_again(make: Make) -> None:
    store, outbox = make(), Outbox()
    await handle_once(store, "a", "m-1", add(1), outbox)
    assert cached(store).get("a") is not None
    forget_cached()
    assert cached(store).get("a") is None
    handled = await handle_once(store, "a", "m-2", add(1), outbox)
    assert handled.stored is not None and handled.stored.state == {"total": 2}
