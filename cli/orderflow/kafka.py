"""Kafka as upstream and downstream systems use it: the one module of Kafka helpers that the
CLI, the bench, the chaos harness and the tests share (plain aiokafka, no service code).

    client_kwargs(bootstrap)          where the broker is and how to log in (servicekit's: the
                                      KAFKA_* settings, or the `security` a caller passes)
    producer(bootstrap, **options)    an idempotent producer, as an upstream system sets one up
    Producer                          the type of what `producer` returns (for annotations)
    follower(bootstrap, *topics)      a consumer outside any group, from the start or the end
    Follower                          a follower with a pump: reads topics in a background
                                      task, hands each batch to its owner's `take`, and lets
                                      callers wait until a check on what it took holds
    partitions(bootstrap, topics)     the partitions of the topics that exist
    create_topics(bootstrap, names)   make topics (a test's or a bench's own, made up front)
    delete_topics(bootstrap, names)   drop them again (best effort: cleaning up)
    Upstream                          sends commands (or raw bytes, or a record with headers)
                                      as upstream does; with `retry_for`, keeps trying while
                                      the broker is away
    Record                            one record read back
    read_topics(bootstrap, names)     every record from the start: up to the topics' end now,
                                      or, with `until`, until a check on them holds
    end_offsets(bootstrap, names)     where each partition of the topics ends now
    committed(bootstrap, group)       how far a consumer group has committed, per partition
    groups(bootstrap, prefix)         the consumer groups named with the prefix
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.envelope import Message
from servicekit.kafka import KafkaSettings, client_kwargs

log = logging.getLogger("orderflow.kafka")

T = TypeVar("T")

#: What `producer` returns: callers annotate with it rather than import aiokafka.
Producer: TypeAlias = AIOKafkaProducer


def producer(
    bootstrap: str, security: KafkaSettings | None = None, **options: Any
) -> AIOKafkaProducer:
    """An idempotent producer, as an upstream system would configure one."""
    return AIOKafkaProducer(
        **client_kwargs(bootstrap, security), enable_idempotence=True, **options
    )


def follower(
    bootstrap: str,
    *topics: str,
    from_beginning: bool = True,
    security: KafkaSettings | None = None,
) -> AIOKafkaConsumer:
    """A consumer outside any group (it commits nothing): reads `topics` from their start,
    or from their end when not `from_beginning`; with no topics, assign partitions to it."""
    return AIOKafkaConsumer(
        *topics,
        **client_kwargs(bootstrap, security),
        group_id=None,
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=False,
    )


async def partitions(
    bootstrap: str, topics: Iterable[str], security: KafkaSettings | None = None
) -> dict[str, list[int]]:
    """The partitions of each of `topics` that exists (the others are left out)."""
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap, security))
    await admin.start()
    try:
        # Describing a topic the broker does not know may create it: only the listed ones.
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t in existing]
        described = await admin.describe_topics(wanted) if wanted else []
    finally:
        await admin.close()
    return {
        str(t["topic"]): sorted(int(p["partition"]) for p in t["partitions"])
        for t in described
        if t.get("error_code") == 0 and t.get("partitions")
    }


async def create_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int = 6,
    configs: dict[str, str] | None = None,
    security: KafkaSettings | None = None,
) -> None:
    """Create the topics `names` (full names), each with `partitions` partitions, one replica
    and the topic `configs` (e.g. {"max.message.bytes": "20000"}). A topic that exists
    already is an error, as a test or a bench making its own topics wants."""
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap, security))
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, partitions, 1, topic_configs=configs or {}) for name in names]
        )
    finally:
        await admin.close()


async def delete_topics(
    bootstrap: str, names: Iterable[str], security: KafkaSettings | None = None
) -> None:
    """Delete the topics `names` (full names), best effort: a failure is logged, not raised,
    since this cleans up after a run that may have failed for the same reason."""
    try:
        admin = AIOKafkaAdminClient(**client_kwargs(bootstrap, security))
        await admin.start()
        try:
            await admin.delete_topics(list(names))
        finally:
            await admin.close()
    except Exception as error:
        log.info("deleting topics failed: %s", type(error).__name__)


@dataclass(frozen=True)
class Sent:
    """Where a record landed (a dead letter names it so), `topic` without the prefix."""

    topic: str
    partition: int
    offset: int


class Upstream:
    """An idempotent producer on the topics of `prefix`, as an upstream system uses one.

    With `retry_for` (seconds), a send that fails is tried again until then: a retry may
    publish a record twice (the same message id, which the services dedupe), which is what
    at-least-once upstream delivery looks like while the broker restarts. Then no attempt
    waits longer than `send_timeout`, and a failed send renews the producer (one stuck on a
    broken session) once for every send that failed on it: the first to fail does it, the
    others use the result, and only a producer that has started is swapped in. Renewing
    per send instead, a hundred senders through a 90 s broker restart stopped each other's
    producers over and over, and no command got through after the broker was back.
    """

    def __init__(
        self,
        bootstrap: str,
        prefix: str = "",
        security: KafkaSettings | None = None,
        retry_for: float = 0.0,
        send_timeout: float = 30.0,
    ) -> None:
        self.bootstrap, self.prefix, self.retry_for = bootstrap, prefix, retry_for
        self.security, self.send_timeout = security, send_timeout
        self.producer = self._producer()
        #: Sends that failed and were tried again (the broker was away).
        self.retries = 0
        self._generation = 0
        self._renewing = asyncio.Lock()

    def _producer(self) -> AIOKafkaProducer:
        if self.retry_for:
            return producer(self.bootstrap, self.security, request_timeout_ms=15000)
        return producer(self.bootstrap, self.security)

    async def __aenter__(self) -> Upstream:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.producer.stop()

    async def send(self, topic: str, *messages: Message) -> None:
        for message in messages:
            await self.send_raw(topic, message.model_dump_json().encode(), message.kafka_key())

    async def send_raw(self, topic: str, value: bytes, key: bytes | None = b"k") -> Sent:
        """Send `value` as it is (bytes a service may refuse)."""
        return await self.send_record(topic, value, key)

    async def send_record(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = b"k",
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> Sent:
        """Send `value` as it is with Kafka `headers` (a dead letter's, a traceparent)."""
        if not self.retry_for:
            return await self._send(self.producer, topic, value, key, headers)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry_for
        delay = 0.5
        while True:
            producer, generation = self.producer, self._generation
            try:
                sending = self._send(producer, topic, value, key, headers)
                return await asyncio.wait_for(sending, self.send_timeout)
            except Exception as error:
                if loop.time() + delay > deadline:
                    raise
                self.retries += 1
                log.info("send failed, retrying: %s", type(error).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 4.0)
                await self._renew(generation)

    async def _send(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> Sent:
        meta = await producer.send_and_wait(
            self.prefix + topic, value, key=key, headers=list(headers) or None
        )
        return Sent(topic, meta.partition, meta.offset)

    async def _renew(self, generation: int) -> None:
        async with self._renewing:
            if generation != self._generation:
                return  # another send renewed it since this one failed
            fresh = self._producer()
            try:
                await asyncio.wait_for(fresh.start(), self.send_timeout)
            except Exception:  # the broker is still away: keep the old one for now
                with contextlib.suppress(Exception):
                    await fresh.stop()
                return
            old, self.producer = self.producer, fresh
            self._generation += 1
            with contextlib.suppress(Exception):
                await old.stop()


@dataclass(frozen=True)
class Record:
    """One record read back (`topic` without the prefix it was read with)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    #: The record's Kafka timestamp in ms (CreateTime: when it was produced); -1 unknown.
    timestamp: int = -1

    def json(self) -> Any:
        return json.loads(self.value)

    def body(self) -> dict[str, Any]:
        """The JSON object of the value ({} if it is not one)."""
        try:
            body = json.loads(self.value)
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}


def record_of(r: ConsumerRecord[bytes, bytes], prefix: str = "") -> Record:
    return Record(
        topic=r.topic[len(prefix) :],
        key=r.key,
        value=r.value or b"",
        headers={k: v.decode("utf-8", "replace") for k, v in (r.headers or ())},
        partition=r.partition,
        offset=r.offset,
        timestamp=r.timestamp if r.timestamp is not None else -1,
    )


async def read_topics(
    bootstrap: str,
    names: Iterable[str],
    prefix: str = "",
    until: Callable[[Sequence[Record]], bool] | None = None,
    timeout: float = 30.0,
    security: KafkaSettings | None = None,
) -> list[Record]:
    """Every record of the topics `prefix + name` from their start.

    Without `until`: up to each topic's end as it is now (a topic that does not exist has
    none). With `until`: until `until(records)` holds or `timeout` passes (the records so
    far), reading topics that may appear meanwhile.
    """
    records: list[Record] = []
    if until is not None:
        async with Follower(bootstrap, names, records.extend, prefix, security=security) as f:
            with contextlib.suppress(TimeoutError):
                await f.wait(lambda: until(records), timeout)
        return records
    wanted = [prefix + name for name in names]
    consumer = follower(bootstrap, security=security)
    await consumer.start()
    try:
        found = await partitions(bootstrap, wanted, security)
        parts = [TopicPartition(t, p) for t, ps in found.items() for p in ps]
        if not parts:
            return records
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(parts)
        pending = {tp for tp, end in ends.items() if end > 0}
        async with asyncio.timeout(timeout):
            while pending:
                batch = await consumer.getmany(timeout_ms=500)
                for tp, items in batch.items():
                    records.extend(record_of(r, prefix) for r in items if r.offset < ends[tp])
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        return records
    finally:
        await consumer.stop()


async def end_offsets(
    bootstrap: str, names: Iterable[str], prefix: str = "", security: KafkaSettings | None = None
) -> dict[tuple[str, int], int]:
    """The offset after the last record of each partition of `prefix + name`, now, keyed by
    (name, partition) without the prefix; a topic that does not exist has none."""
    found = await partitions(bootstrap, [prefix + name for name in names], security)
    parts = [TopicPartition(t, p) for t, ps in found.items() for p in ps]
    if not parts:
        return {}
    consumer = follower(bootstrap, security=security)
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(parts)
    finally:
        await consumer.stop()
    return {(tp.topic[len(prefix) :], tp.partition): end for tp, end in ends.items()}


async def committed(
    bootstrap: str, group: str, prefix: str = "", security: KafkaSettings | None = None
) -> dict[tuple[str, int], int]:
    """The offsets consumer `group` has committed (the next it would read), keyed by
    (topic without `prefix`, partition); a partition it never committed on is absent."""
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap, security))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {
        (tp.topic[len(prefix) :], tp.partition): meta.offset
        for tp, meta in offsets.items()
        if tp.topic.startswith(prefix) and meta.offset >= 0
    }


async def groups(
    bootstrap: str, prefix: str = "", security: KafkaSettings | None = None
) -> list[str]:
    """The consumer groups whose names start with `prefix` (a run's services')."""
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap, security))
    await admin.start()
    try:
        return [str(g[0]) for g in await admin.list_consumer_groups() if g[0].startswith(prefix)]
    finally:
        await admin.close()


class Follower:
    """A follower with a pump: reads the topics `prefix + name` outside any group in a
    background task and hands each fetched batch to `take`; callers `wait` until a check
    on what their `take` kept holds (the one wake-up for every reader of the tools).

    From the topics' start, or (not `from_beginning`) from their end as it is on entering:
    either way each partition's position settles before `__aenter__` returns, so nothing
    sent afterwards is missed, and no batch is fetched (and dropped) meanwhile. With
    `reconnect`, a failure (the broker went away) starts a new consumer after a second,
    which reads again from the start: `take` must tolerate seeing a record twice.
    """

    def __init__(
        self,
        bootstrap: str,
        names: Iterable[str],
        take: Callable[[list[Record]], object],
        prefix: str = "",
        from_beginning: bool = True,
        reconnect: bool = False,
        max_records: int | None = None,
        security: KafkaSettings | None = None,
    ) -> None:
        self.bootstrap, self.prefix, self.take = bootstrap, prefix, take
        self.names = list(names)
        self.from_beginning, self.reconnect = from_beginning, reconnect
        self.max_records, self.security = max_records, security
        #: The next offset to read per (name, partition); where it ended on entering.
        self.next: dict[tuple[str, int], int] = {}
        self.start_ends: dict[tuple[str, int], int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Follower:
        try:
            await self._start()
        except Exception:
            await self._stop()
            if not self.reconnect:
                raise
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._stop()

    async def wait(self, check: Callable[[], T | None], timeout: float) -> T:
        """`check()` once it is truthy, re-checked after each batch (TimeoutError after
        `timeout` seconds)."""
        async with asyncio.timeout(timeout), self._changed:
            found = await self._changed.wait_for(check)
        assert found is not None  # wait_for returns only a truthy result
        return found

    async def caught_up(self, timeout: float = 60.0) -> None:
        """Wait until every record on the topics when it started has been read
        (`from_beginning` only; otherwise there is no past to wait for)."""
        await self._reached(self.start_ends, timeout)

    async def read_to_now(self, timeout: float = 60.0) -> None:
        """Wait until every record on the topics now has been read: what `take` has not
        had then was not published before this call (a marker to prove absence by)."""
        ends = await end_offsets(self.bootstrap, self.names, self.prefix, self.security)
        await self._reached(ends, timeout)

    async def _reached(self, ends: dict[tuple[str, int], int], timeout: float) -> None:
        await self.wait(lambda: all(self.next.get(k, 0) >= e for k, e in ends.items()), timeout)

    async def _start(self) -> AIOKafkaConsumer:
        names = [self.prefix + name for name in self.names]
        consumer = follower(
            self.bootstrap, *names, from_beginning=self.from_beginning, security=self.security
        )
        self._consumer = consumer
        await consumer.start()
        assigned = list(consumer.assignment())
        for tp in assigned:
            self.next[self._key(tp)] = await consumer.position(tp)
        if self.from_beginning and assigned and not self.start_ends:
            ends = await consumer.end_offsets(assigned)
            self.start_ends = {self._key(tp): end for tp, end in ends.items()}
        return consumer

    async def _stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _pump(self) -> None:
        while True:
            try:
                consumer = self._consumer or await self._start()
                batch = await consumer.getmany(timeout_ms=200, max_records=self.max_records)
            except Exception as error:
                if not self.reconnect:
                    raise
                log.info("follower reconnecting: %s", type(error).__name__)
                await self._stop()
                await asyncio.sleep(1)
                continue
            if not batch:
                continue
            for tp, items in batch.items():
                self.next[self._key(tp)] = items[-1].offset + 1
            self.take([record_of(r, self.prefix) for items in batch.values() for r in items])
            async with self._changed:
                self._changed.notify_all()

    def _key(self, tp: TopicPartition) -> tuple[str, int]:
        return tp.topic[len(self.prefix) :], tp.partition
