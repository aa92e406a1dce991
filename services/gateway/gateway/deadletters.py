"""The console's dead letters: every `<topic>.dlq` of this deployment, read and replayed
with servicekit's letters (the same code as `orderflow dlq --replay`)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer

from contracts.topics import DLQ_SUFFIX
from gateway.config import GatewaySettings
from servicekit.letters import Letter, list_letters, replay_letter


async def dlq_topics(settings: GatewaySettings) -> list[str]:
    """The dead letter topics under this deployment's prefix, by name."""
    consumer = AIOKafkaConsumer(**settings.client_kwargs(), group_id=None)
    await consumer.start()
    try:
        names = await consumer.topics()
    finally:
        await consumer.stop()
    prefix = settings.topic_prefix
    return sorted(n for n in names if n.startswith(prefix) and n.endswith(DLQ_SUFFIX))


async def letters(settings: GatewaySettings, topic: str) -> list[Letter]:
    return await list_letters(settings.kafka_bootstrap_servers, topic)


async def replay(settings: GatewaySettings, topic: str, offset: int) -> str:
    """Republish the letter's original bytes, key and headers to its source topic."""
    return await replay_letter(settings.kafka_bootstrap_servers, topic, offset)
