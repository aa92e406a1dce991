"""Kafka as the chaos run's upstream and downstream see it, through broker restarts.

Upstream      publishes commands; while the broker is away it keeps retrying (a
              retry may publish a record twice: the same message id, deduped by the
              services, which is what at-least-once upstream delivery looks like)
Watcher       follows the event topics for the scenarios' drivers, reconnecting
read_topics   every record of some topics up to their current end, for the checks
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from contracts import topics
from contracts.envelope import Message
from servicekit.kafka import client_kwargs

log = logging.getLogger("chaos.traffic")

#: The topics the drivers watch: every event topic downstream reads.
EVENT_TOPICS = (
    topics.ORDERS_EVENTS,
    topics.INVOICING_EVENTS,
    topics.PAYMENTS_EVENTS,
    topics.NOTIFICATIONS_EVENTS,
)


@dataclass(frozen=True)
class Sent:
    """Where a record landed (for the poison messages, whose dead letters name it)."""

    topic: str
    partition: int
    offset: int


class Upstream:
    """An idempotent producer that retries until the broker takes the record."""

    def __init__(self, bootstrap: str, prefix: str, give_up_after: float = 300.0) -> None:
        self.bootstrap, self.prefix, self.give_up_after = bootstrap, prefix, give_up_after
        self.producer = self._producer()
        #: Sends that failed and were tried again (the broker was away).
        self.retries = 0

    def _producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **client_kwargs(self.bootstrap), enable_idempotence=True, request_timeout_ms=15000
        )

    async def __aenter__(self) -> Upstream:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.producer.stop()

    async def send(self, topic: str, *messages: Message) -> None:
        for message in messages:
            await self.send_raw(topic, message.model_dump_json().encode(), message.kafka_key())

    async def send_raw(self, topic: str, value: bytes, key: bytes | None) -> Sent:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.give_up_after
        delay = 0.5
        failures = 0
        while True:
            try:
                meta = await self.producer.send_and_wait(self.prefix + topic, value, key=key)
                return Sent(topic, meta.partition, meta.offset)
            except Exception as error:
                self.retries += 1
                failures += 1
                if loop.time() + delay > deadline:
                    raise
                log.info("send failed, retrying: %s", type(error).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 4.0)
                if failures % 4 == 0:  # a producer stuck on a broken session: start afresh
                    await self._renew()

    async def _renew(self) -> None:
        old, self.producer = self.producer, self._producer()
        with contextlib.suppress(Exception):
            await old.stop()
        with contextlib.suppress(Exception):
            await self.producer.start()


class Watcher:
    """Every distinct event (by message id) of the event topics, by Kafka key."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap, self.prefix = bootstrap, prefix
        self._seen: dict[str, dict[str, tuple[str, dict[str, Any]]]] = defaultdict(dict)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watcher:
        self._task = asyncio.create_task(self._follow())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def total(self) -> int:
        """How many distinct events it has seen so far."""
        return sum(len(seen) for seen in self._seen.values())

    def events(self, key: object, topic: str | None = None) -> list[dict[str, Any]]:
        """The distinct events about `key` (an order or account id), in arrival order."""
        found = list(self._seen.get(str(key), {}).values())
        return [body for t, body in found if topic is None or t == topic]

    async def first(self, key: object, *types: str, timeout: float) -> dict[str, Any]:
        """The first event of `types` about `key`, once there is one."""
        return (await self.matching(key, lambda e: e.get("type") in types, timeout, str(types)))[0]

    async def matching(
        self, key: object, wanted: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [e for e in self.events(key) if wanted(e)]
            if found:
                return found
            if loop.time() > deadline:
                seen = [e.get("type") for e in self.events(key)]
                raise TimeoutError(f"no {what} for {key} within {timeout:.0f}s; saw {seen}")
            await asyncio.sleep(0.2)

    async def _follow(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(
                *(self.prefix + t for t in EVENT_TOPICS),
                **client_kwargs(self.bootstrap),
                group_id=None,
                auto_offset_reset="earliest",
                enable_auto_commit=False,
            )
            try:
                await consumer.start()
                async for record in consumer:
                    self._record(record.topic[len(self.prefix) :], record.key, record.value)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the broker went away: read again from the start
                log.info("watcher reconnecting: %s", type(error).__name__)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    def _record(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        try:
            body = json.loads(value or b"")
        except ValueError:
            return
        if isinstance(body, dict) and key is not None:
            self._seen[key.decode()].setdefault(str(body.get("message_id")), (topic, body))


@dataclass(frozen=True)
class Record:
    """One record as the checks read it back."""

    topic: str
    partition: int
    offset: int
    key: str
    value: bytes
    headers: dict[str, str]

    def body(self) -> dict[str, Any]:
        """The JSON object of the value ({} if it is not one)."""
        try:
            body = json.loads(self.value)
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}


async def read_topics(bootstrap: str, prefix: str, names: Iterable[str]) -> list[Record]:
    """Every record of `names` (contracts names) from the start up to their end now."""
    wanted = [prefix + name for name in names]
    consumer = AIOKafkaConsumer(
        *wanted,
        **client_kwargs(bootstrap),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        # Without a group every partition of the topics is assigned once metadata is in.
        async with asyncio.timeout(60):
            while not consumer.assignment():
                await asyncio.sleep(0.1)
        parts = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*parts)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(parts)
        records: list[Record] = []
        pending = {tp for tp, end in ends.items() if end > 0}
        async with asyncio.timeout(120):
            while pending:
                batch = await consumer.getmany(timeout_ms=500)
                for tp, items in batch.items():
                    records.extend(
                        Record(
                            topic=tp.topic[len(prefix) :],
                            partition=tp.partition,
                            offset=r.offset,
                            key=(r.key or b"").decode("utf-8", "replace"),
                            value=r.value or b"",
                            headers={k: v.decode("utf-8", "replace") for k, v in r.headers or ()},
                        )
                        for r in items
                        if r.offset < ends[tp]
                    )
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        return records
    finally:
        await consumer.stop()
