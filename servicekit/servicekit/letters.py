"""Dead letters: list them, and replay one to its topic once the cause is fixed (the CLI's
`orderflow dlq` and the gateway's console both use these)."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from servicekit.deadletters import DLQ_ERROR, DLQ_REASON, DLQ_SERVICE, DLQ_SOURCE
from servicekit.kafka import client_kwargs


@dataclass(frozen=True)
class Letter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    def summary(self) -> str:
        h = self.headers
        return (
            f"{self.partition}/{self.offset}  {h.get(DLQ_REASON, '?'):<14} "
            f"{h.get(DLQ_SERVICE, '?'):<10} from {h.get(DLQ_SOURCE, '?')}  {h.get(DLQ_ERROR, '')[:120]}"
        )


async def list_letters(bootstrap: str, dlq_topic: str) -> list[Letter]:
    consumer = AIOKafkaConsumer(
        dlq_topic,
        **client_kwargs(bootstrap),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    letters: list[Letter] = []
    try:
        while batch := await consumer.getmany(timeout_ms=1000):
            for records in batch.values():
                letters.extend(
                    Letter(
                        r.partition,
                        r.offset,
                        r.key,
                        r.value or b"",
                        {k: v.decode("utf-8", "replace") for k, v in (r.headers or ())},
                    )
                    for r in records
                )
    finally:
        await consumer.stop()
    return letters


async def replay_letter(bootstrap: str, dlq_topic: str, offset: int) -> str:
    """Publish the letter's original bytes and key to the topic it came from."""
    letters = [x for x in await list_letters(bootstrap, dlq_topic) if x.offset == offset]
    if not letters:
        raise LookupError(f"no dead letter at offset {offset} in {dlq_topic}")
    letter = letters[0]
    source = letter.headers.get(DLQ_SOURCE, "").rsplit("/", 2)[0]
    if not source:
        raise LookupError(f"dead letter {offset} does not say where it came from")
    producer = AIOKafkaProducer(**client_kwargs(bootstrap), enable_idempotence=True)
    await producer.start()
    try:
        headers = [
            (k, v.encode()) for k, v in letter.headers.items() if not k.startswith("x-dlq-")
        ] + [("x-replayed-from", f"{dlq_topic}/{letter.partition}/{offset}".encode())]
        await producer.send_and_wait(source, letter.value, key=letter.key, headers=headers)
    finally:
        await producer.stop()
    return source
