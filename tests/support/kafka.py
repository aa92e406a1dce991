"""Talk to the real broker the way upstream and downstream systems do: plain aiokafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.envelope import Message
from servicekit.kafka import KafkaSettings, client_kwargs


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    partition: int
    offset: int

    def json(self) -> Any:
        return json.loads(self.value)


class Upstream:
    """A plain aiokafka producer, as an upstream system would use."""

    def __init__(self, bootstrap: str, prefix: str, security: KafkaSettings | None = None) -> None:
        self.prefix = prefix
        self.producer = AIOKafkaProducer(
            **client_kwargs(bootstrap, security), enable_idempotence=True
        )

    async def __aenter__(self) -> Upstream:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def send_raw(self, topic: str, value: bytes, key: bytes | None = b"k") -> None:
        await self.producer.send_and_wait(self.prefix + topic, value, key=key)

    async def send(self, topic: str, *messages: Message) -> None:
        for m in messages:
            await self.send_raw(topic, m.model_dump_json().encode(), key=m.kafka_key())


async def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[Sequence[Record]], bool],
    timeout: float = 30.0,
    security: KafkaSettings | None = None,
) -> list[Record]:
    """Read `topic` from the beginning until `until(records)` holds or the timeout passes."""
    consumer = AIOKafkaConsumer(
        topic,
        **client_kwargs(bootstrap, security),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Record] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not until(records) and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for items in batch.values():
                records.extend(
                    Record(
                        topic=r.topic,
                        key=r.key,
                        value=r.value or b"",
                        headers={k: v.decode() for k, v in (r.headers or ())},
                        partition=r.partition,
                        offset=r.offset,
                    )
                    for r in items
                )
    finally:
        await consumer.stop()
    return records


def count(n: int) -> Callable[[Sequence[Record]], bool]:
    """`until` that holds once at least n records arrived."""
    return lambda records: len(records) >= n


def unique_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll an async `check` until it returns something truthy (read models trail events)."""
    async with asyncio.timeout(timeout):
        while not (result := await check()):
            await asyncio.sleep(0.05)
        return result
