"""Concurrent handling with in-order offset commits: how a service keeps up with its topics.

Handling one message costs a few store round trips and an acknowledged publish, most of
it waiting. So the consumer does not wait for each handler before taking the next
message; it hands the message to the dispatcher and goes on:

    consumer ─▶ submit ─▶ slot free? (at most `max_in_flight` handlers run at once)
                  │
                  ▼
       same key as a running message? ─yes─▶ runs after it (per-key order kept)
                  │no
                  ▼
               runs now ─▶ done ─▶ tracker marks the offset handled

    committer, every `commit_interval`: per partition, commit the offset after the longest
    run of handled offsets from the start (never past a message still in flight)

    rebalance: before partitions are taken away, their running handlers finish and their
    positions are committed, so the next owner does not handle them again

A crash loses only uncommitted positions: those messages are delivered again and the
handlers, idempotent by message id, change nothing the second time. Messages with the
same Kafka key (the same order, account or invoice) are handled in the order they came.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from aiokafka import ConsumerRebalanceListener
from aiokafka.structs import OffsetAndMetadata, TopicPartition

log = logging.getLogger("servicekit.dispatch")


class OffsetTracker:
    """Which offsets of each partition are handled, and how far it is safe to commit.

    Offsets arrive in order per partition. An offset at or below one already seen means
    the consumer went back (a rebalance or a seek): tracking of that partition starts
    over, since everything from there is delivered again.
    """

    def __init__(self) -> None:
        self._pending: dict[TopicPartition, dict[int, bool]] = {}
        self._last: dict[TopicPartition, int] = {}
        self._position: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    def begin(self, tp: TopicPartition, offset: int) -> None:
        pending = self._pending.setdefault(tp, {})
        if offset <= self._last.get(tp, -1):
            pending.clear()
            self._position.pop(tp, None)
        self._last[tp] = offset
        pending[offset] = False

    def done(self, tp: TopicPartition, offset: int) -> None:
        """Mark an offset handled (its effects are stored and published)."""
        pending = self._pending.get(tp)
        if pending is not None and offset in pending:
            pending[offset] = True
        while pending:
            first = next(iter(pending))
            if not pending[first]:
                break
            del pending[first]
            self._position[tp] = first + 1

    def ready(self) -> dict[TopicPartition, int]:
        """Positions to commit: past every handled offset, before the first unhandled."""
        return {
            tp: position
            for tp, position in self._position.items()
            if position > self._committed.get(tp, -1)
        }

    def committed(self, positions: dict[TopicPartition, int]) -> None:
        self._committed.update(positions)

    def in_flight(self) -> int:
        return sum(1 for pending in self._pending.values() for done in pending.values() if not done)


class Dispatcher:
    """Runs handlers of different keys side by side and commits what is finished."""

    def __init__(self, max_in_flight: int, commit_interval: float) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.commit_interval = commit_interval
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tails: dict[Hashable, asyncio.Task[None]] = {}
        self._running: dict[TopicPartition, set[asyncio.Task[None]]] = {}
        self._owners: dict[TopicPartition, Any] = {}
        self._tracker = OffsetTracker()
        self._accepting = True
        #: Called with the partitions a rebalance takes away, once they are settled
        #: (e.g. to forget what is kept in memory of their keys).
        self.on_revoke: list[Callable[[set[TopicPartition]], None]] = []

    async def submit(
        self,
        consumer: Any,
        tp: TopicPartition,
        offset: int,
        key: bytes | None,
        work: Callable[[], Awaitable[None]],
    ) -> None:
        """Start `work` for one message when a slot is free; returns once it has started.

        After `close()` nothing new starts: the message stays uncommitted and is delivered
        again after the restart.
        """
        if self.closed():
            return
        await self._slots.acquire()
        if self.closed():  # closed while waiting for the slot
            self._slots.release()
            return
        self._owners[tp] = consumer
        self._tracker.begin(tp, offset)
        chain: Hashable = (tp, key) if key is not None else tp
        previous = self._tails.get(chain)
        task = asyncio.create_task(self._run(previous, work, tp, offset, chain))
        self._tails[chain] = task
        running = self._running.setdefault(tp, set())
        running.add(task)
        task.add_done_callback(running.discard)

    async def _run(
        self,
        previous: asyncio.Task[None] | None,
        work: Callable[[], Awaitable[None]],
        tp: TopicPartition,
        offset: int,
        chain: Hashable,
    ) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])  # its outcome is its own; only the order matters
            await work()
            self._tracker.done(tp, offset)
        except Exception:
            # Only while stopping does the guard let an error through: left uncommitted.
            log.warning("message left for redelivery", extra={"offset": offset})
        finally:
            self._slots.release()
            if self._tails.get(chain) is asyncio.current_task():
                del self._tails[chain]

    def closed(self) -> bool:
        return not self._accepting

    def in_flight(self) -> int:
        return sum(len(tasks) for tasks in self._running.values())

    async def commit(self, only: Iterable[TopicPartition] | None = None) -> None:
        """Commit each partition's safe position; a failed commit is retried next round."""
        ready = self._tracker.ready()
        if only is not None:
            wanted = set(only)
            ready = {tp: position for tp, position in ready.items() if tp in wanted}
        by_owner: dict[int, tuple[Any, dict[TopicPartition, int]]] = {}
        for tp, position in ready.items():
            owner = self._owners.get(tp)
            if owner is not None and hasattr(owner, "assignment") and tp in owner.assignment():
                by_owner.setdefault(id(owner), (owner, {}))[1][tp] = position
        for consumer, positions in by_owner.values():
            offsets = {tp: OffsetAndMetadata(p, "") for tp, p in positions.items()}
            try:
                await consumer.commit(offsets)
            except Exception as e:
                # The partitions moved to another consumer: it redelivers from the last
                # committed position, and handlers dedupe by message id.
                log.info("commit not accepted", extra={"error": f"{type(e).__name__}: {e}"})
                continue
            self._tracker.committed(positions)

    async def run_committer(self) -> None:
        """Commit periodically for the life of the service."""
        while True:
            await asyncio.sleep(self.commit_interval)
            await self.commit()

    async def settle(self, partitions: Iterable[TopicPartition], timeout: float) -> None:
        """Let the running handlers of `partitions` finish, then commit them.

        Called before a rebalance takes partitions away, so their next owner starts
        where this consumer stopped instead of handling the same messages again.
        """
        revoked = set(partitions)
        running = {task for tp in revoked for task in self._running.get(tp, ())}
        if running:
            await asyncio.wait(running, timeout=timeout)
        await self.commit(only=revoked)
        if revoked:
            for hook in self.on_revoke:
                hook(revoked)

    def rebalance_listener(self, timeout: float) -> SettleOnRevoke:
        """A listener for one subscriber: settle revoked partitions before giving them up."""
        return SettleOnRevoke(self, timeout)

    async def close(self, timeout: float) -> None:
        """Start nothing new, let running handlers finish (up to `timeout`), commit."""
        self._accepting = False
        running = {task for tasks in self._running.values() for task in tasks}
        if running:
            _, still = await asyncio.wait(running, timeout=timeout)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=1)
        await self.commit()


class SettleOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """One subscriber's rebalance listener: settles revoked partitions, notes assignment."""

    def __init__(self, dispatcher: Dispatcher, timeout: float) -> None:
        self.dispatcher = dispatcher
        self.timeout = timeout
        # Readiness (/readyz): the consumer has joined its group and had its partitions
        # assigned at least once (none is a valid answer when replicas outnumber them).
        self.assigned = False

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.dispatcher.settle(revoked, self.timeout)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.assigned = True
