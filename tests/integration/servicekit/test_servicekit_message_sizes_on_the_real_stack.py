"""Message sizes on the real broker: what a service refuses, what Kafka refuses, and where
each goes (README, "Message sizes").

A message larger than the service's limit but within the topic's lands in the dead-letter
topic with reason `oversized` and its bytes intact, even one just under the topic's limit
(the dead-letter topic has room for the error headers); a larger one is refused by Kafka
when it is published, so its producer knows at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import MessageSizeTooLargeError

from contracts.envelope import Command
from orderflow import kafka
from servicekit.config import DLQ_HEADROOM_BYTES, TOPIC_MAX_MESSAGE_BYTES, ServiceSettings
from servicekit.runtime import ServiceRuntime
from tests.support.kafka import count, read_topic

pytestmark = pytest.mark.timeout(180)

TOPIC = "sizes.commands"
SMALL_DLQ = "small.commands"  # its dead-letter topic is made outside orderflow, too small


class Ping(Command):
    type: Literal["Ping"] = "Ping"
    order_id: str


@pytest.fixture
async def probe(stack: Any, topic_prefix: str) -> AsyncIterator[ServiceRuntime]:
    service = f"sizes-{uuid.uuid4().hex[:6]}"
    settings = ServiceSettings(  # the default limits: 256 KiB handled, 1 MiB on a topic
        kafka_bootstrap_servers=stack.kafka_bootstrap,
        mongodb_uri=stack.mongodb_uri,
        topic_prefix=f"{topic_prefix}{service}.",
        connect_timeout_seconds=20,
    )
    runtime = ServiceRuntime(service, settings)
    small = runtime.topic(SMALL_DLQ) + ".dlq"
    await kafka.create_topics(stack.kafka_bootstrap, [small], 1, {"max.message.bytes": "20000"})

    @runtime.subscriber(TOPIC)
    async def handle(command: Ping) -> None:
        return None

    @runtime.subscriber(SMALL_DLQ)
    async def handle_small(command: Ping) -> None:
        return None

    await runtime.start()
    yield runtime
    await runtime.stop()


async def topic_limit(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    [(_, _, _, _, entries)] = response.resources
    return int(next(entry[1] for entry in entries if entry[0] == "max.message.bytes"))


async def publish(bootstrap: str, topic: str, value: bytes) -> None:
    # Past the client's own limit, so that it is the broker that refuses what is too large.
    producer = kafka.producer(bootstrap, max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"o-1")
    finally:
        await producer.stop()


def padded(size: int) -> bytes:
    return b'{"pad": "' + b"x" * (size - 11) + b'"}'


async def test_the_topics_a_service_creates_state_their_size_limit(
    probe: ServiceRuntime, stack: Any
) -> None:
    source = probe.topic(TOPIC)
    assert await topic_limit(stack.kafka_bootstrap, source) == TOPIC_MAX_MESSAGE_BYTES
    assert (
        await topic_limit(stack.kafka_bootstrap, source + ".dlq")
        == TOPIC_MAX_MESSAGE_BYTES + DLQ_HEADROOM_BYTES
    )


async def test_a_message_between_the_service_limit_and_the_topic_limit_is_dead_lettered_oversized(
    probe: ServiceRuntime, stack: Any
) -> None:
    source = probe.topic(TOPIC)
    medium, almost = padded(512 * 1024), padded(TOPIC_MAX_MESSAGE_BYTES - 4096)
    await publish(stack.kafka_bootstrap, source, medium)
    await publish(stack.kafka_bootstrap, source, almost)

    letters = await read_topic(stack.kafka_bootstrap, source + ".dlq", count(2), timeout=60)
    assert [r.headers["x-dlq-reason"] for r in letters] == ["oversized", "oversized"]
    assert [r.value for r in letters] == [medium, almost], "the original bytes, intact"


async def test_a_message_over_the_topic_limit_is_refused_when_it_is_published(
    probe: ServiceRuntime, stack: Any
) -> None:
    with pytest.raises(MessageSizeTooLargeError):
        await publish(
            stack.kafka_bootstrap, probe.topic(TOPIC), padded(TOPIC_MAX_MESSAGE_BYTES + 1024)
        )


async def test_a_dead_letter_its_topic_cannot_take_keeps_its_headers_and_the_consumer_goes_on(
    probe: ServiceRuntime, stack: Any
) -> None:
    source = probe.topic(SMALL_DLQ)
    await publish(stack.kafka_bootstrap, source, padded(300 * 1024))
    async with asyncio.timeout(60):
        [letter] = await read_topic(stack.kafka_bootstrap, source + ".dlq", count(1), timeout=60)
    assert letter.value == b""
    assert letter.headers["x-dlq-reason"] == "oversized"
    assert letter.headers["x-dlq-value-dropped"] == str(300 * 1024)
    assert letter.headers["x-dlq-source"].startswith(source + "/")
