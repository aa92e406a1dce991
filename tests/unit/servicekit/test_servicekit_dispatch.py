"""The dispatcher: concurrent handlers, per-key order, and commits that never skip a message."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.structs import OffsetAndMetadata, TopicPartition

from servicekit.dispatch import Dispatcher, OffsetTracker

TP = TopicPartition("orders.commands", 0)
OTHER = TopicPartition("orders.commands", 1)


class Consumer:
    """Records what was committed; owns the partitions it is given."""

    def __init__(self, *owned: TopicPartition) -> None:
        self.owned = set(owned)
        self.commits: list[dict[TopicPartition, int]] = []
        self.refuse = False

    def assignment(self) -> set[TopicPartition]:
        return self.owned

    async def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        if self.refuse:
            raise RuntimeError("CommitFailedError: the group rebalanced")
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})


def test_a_partition_is_committed_only_up_to_its_first_unhandled_offset() -> None:
    tracker = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.begin(TP, offset)
    tracker.done(TP, 11)
    tracker.done(TP, 12)
    assert tracker.ready() == {}
    tracker.done(TP, 10)
    assert tracker.ready() == {TP: 13}


def test_a_committed_position_is_not_offered_again() -> None:
    tracker = OffsetTracker()
    tracker.begin(TP, 0)
    tracker.done(TP, 0)
    tracker.committed(tracker.ready())
    assert tracker.ready() == {}
    tracker.begin(TP, 1)
    tracker.done(TP, 1)
    assert tracker.ready() == {TP: 2}


def test_a_partition_delivered_again_from_an_earlier_offset_is_tracked_afresh() -> None:
    tracker = OffsetTracker()
    tracker.begin(TP, 5)
    tracker.begin(TP, 6)
    tracker.done(TP, 6)
    tracker.begin(TP, 5)  # the consumer went back (a rebalance or a seek)
    assert tracker.in_flight() == 1
    tracker.done(TP, 5)
    assert tracker.ready() == {TP: 6}


async def test_messages_of_different_keys_run_side_by_side_and_of_one_key_in_order() -> None:
    dispatcher = Dispatcher(max_in_flight=8, commit_interval=60)
    consumer = Consumer(TP)
    order: list[str] = []
    gate = asyncio.Event()

    def work(name: str, wait: bool) -> Any:
        async def run() -> None:
            if wait:
                await gate.wait()
            order.append(name)

        return run

    await dispatcher.submit(consumer, TP, 0, b"a", work("a1", wait=True))
    await dispatcher.submit(consumer, TP, 1, b"a", work("a2", wait=False))
    await dispatcher.submit(consumer, TP, 2, b"b", work("b1", wait=False))
    await asyncio.sleep(0.01)
    assert order == ["b1"], "b does not wait for a; a2 waits for a1"
    await dispatcher.commit()
    assert consumer.commits == [], "offset 0 is still running, so nothing is committed"
    gate.set()
    await dispatcher.close(timeout=1)
    assert order == ["b1", "a1", "a2"]
    assert consumer.commits == [{TP: 3}]


async def test_no_more_than_max_in_flight_handlers_run_at_once() -> None:
    dispatcher = Dispatcher(max_in_flight=2, commit_interval=60)
    consumer = Consumer(TP)
    running, peak = 0, 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    for offset in range(10):
        await dispatcher.submit(consumer, TP, offset, str(offset).encode(), work)
    await dispatcher.close(timeout=1)
    assert peak == 2
    assert consumer.commits == [{TP: 10}]


async def test_a_handler_that_fails_while_stopping_leaves_its_message_uncommitted() -> None:
    dispatcher = Dispatcher(max_in_flight=4, commit_interval=60)
    consumer = Consumer(TP)

    async def fails() -> None:
        raise ConnectionError("store went away during shutdown")

    async def works() -> None:
        return None

    await dispatcher.submit(consumer, TP, 0, b"a", works)
    await dispatcher.submit(consumer, TP, 1, b"b", fails)
    await dispatcher.submit(consumer, TP, 2, b"c", works)
    await dispatcher.close(timeout=1)
    assert consumer.commits == [{TP: 1}], "offset 1 and everything after it come again"


async def test_nothing_starts_after_close_so_it_is_delivered_again() -> None:
    dispatcher = Dispatcher(max_in_flight=4, commit_interval=60)
    consumer = Consumer(TP)
    ran: list[int] = []

    async def work() -> None:
        ran.append(1)

    await dispatcher.close(timeout=1)
    await dispatcher.submit(consumer, TP, 0, b"a", work)
    await asyncio.sleep(0.01)
    assert ran == []
    assert consumer.commits == []


async def test_revoked_partitions_are_settled_and_committed_before_they_are_given_up() -> None:
    dispatcher = Dispatcher(max_in_flight=4, commit_interval=60)
    consumer = Consumer(TP, OTHER)
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()

    await dispatcher.submit(consumer, TP, 7, b"a", slow)
    await dispatcher.submit(consumer, OTHER, 3, b"b", slow)
    asyncio.get_running_loop().call_later(0.05, gate.set)
    await dispatcher.rebalance_listener(timeout=5).on_partitions_revoked({TP})
    assert consumer.commits == [{TP: 8}], "only the revoked partition is committed"
    await dispatcher.close(timeout=1)


async def test_a_refused_commit_is_offered_again_at_the_next_round() -> None:
    dispatcher = Dispatcher(max_in_flight=4, commit_interval=60)
    consumer = Consumer(TP)

    async def work() -> None:
        return None

    await dispatcher.submit(consumer, TP, 0, b"a", work)
    await asyncio.sleep(0.01)
    consumer.refuse = True
    await dispatcher.commit()
    consumer.refuse = False
    await dispatcher.commit()
    assert consumer.commits == [{TP: 1}]


async def test_partitions_the_consumer_no_longer_owns_are_not_committed() -> None:
    dispatcher = Dispatcher(max_in_flight=4, commit_interval=60)
    consumer = Consumer(OTHER)

    async def work() -> None:
        return None

    await dispatcher.submit(consumer, TP, 0, b"a", work)
    await dispatcher.close(timeout=1)
    assert consumer.commits == []


async def test_revoke_hooks_hear_of_revoked_partitions_after_they_are_committed() -> None:
    dispatcher = Dispatcher(max_in_flight=4, commit_interval=60)
    consumer = Consumer(TP)
    heard: list[tuple[set[TopicPartition], int]] = []
    dispatcher.on_revoke.append(lambda revoked: heard.append((revoked, len(consumer.commits))))

    async def work() -> None:
        return None

    await dispatcher.submit(consumer, TP, 1, b"a", work)
    await dispatcher.rebalance_listener(timeout=5).on_partitions_revoked({TP})
    await dispatcher.rebalance_listener(timeout=5).on_partitions_revoked(set())
    assert heard == [({TP}, 1)], "once, for a real revocation, after its commit"
    await dispatcher.close(timeout=1)
