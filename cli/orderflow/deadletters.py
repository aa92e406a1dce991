"""Dead letters: list them, and replay one to its topic once the cause is fixed."""

from __future__ import annotations

from dataclasses import dataclass

from orderflow.kafka import producer, read_topics
from servicekit.deadletters import DLQ_ERROR, DLQ_REASON, DLQ_SERVICE, DLQ_SOURCE


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
    """Every letter of `dlq_topic` up to its end now (none if the topic does not exist)."""
    return [
        Letter(r.partition, r.offset, r.key, r.value, r.headers)
        for r in await read_topics(bootstrap, [dlq_topic])
    ]


async def replay_letter(bootstrap: str, dlq_topic: str, offset: int) -> str:
    """Publish the letter's original bytes and key to the topic it came from."""
    letters = [x for x in await list_letters(bootstrap, dlq_topic) if x.offset == offset]
    if not letters:
        raise LookupError(f"no dead letter at offset {offset} in {dlq_topic}")
    letter = letters[0]
    source = letter.headers.get(DLQ_SOURCE, "").rsplit("/", 2)[0]
    if not source:
        raise LookupError(f"dead letter {offset} does not say where it came from")
    upstream = producer(bootstrap)
    await upstream.start()
    try:
        headers = [
            (k, v.encode()) for k, v in letter.headers.items() if not k.startswith("x-dlq-")
        ] + [("x-replayed-from", f"{dlq_topic}/{letter.partition}/{offset}".encode())]
        await upstream.send_and_wait(source, letter.value, key=letter.key, headers=headers)
    finally:
        await upstream.stop()
    return source
