"""The fuzz run's view of the system: what it sent, what came back, what was dead-lettered.

ANSWER_TOPIC     command topic -> where its answers go (X-07)
Observer         reads every answer topic and dead-letter topic of the run from the
                 start: answered message ids, dead letters by source record
Sent             one fuzzed record as it landed (topic, partition, offset, its id)
handled(...)     every record is behind its consumer group's committed offset
unanswered(...)  records with neither an answer nor a dead letter
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient

from contracts import topics
from orderflow.kafka import follower
from servicekit.deadletters import DLQ_REASON, DLQ_SOURCE
from servicekit.kafka import client_kwargs

ANSWER_TOPIC = {
    topics.ORDERS_COMMANDS: topics.ORDERS_EVENTS,
    topics.ACCOUNTS_EVENTS: topics.ACCOUNTS_ANSWERS,
    topics.TIMERS_COMMANDS: topics.TIMERS_EVENTS,
    topics.INVOICING_COMMANDS: topics.INVOICING_EVENTS,
    topics.PAYMENTS_COMMANDS: topics.PAYMENTS_EVENTS,
    topics.SUPPLIERS_COMMANDS: topics.SUPPLIERS_EVENTS,
}
#: Topics where an accepted command is answered by nothing at once: a deadline is kept
#: silently until it falls due (X-02); only a refusal is published.
SILENT_WHEN_ACCEPTED = frozenset({topics.TIMERS_COMMANDS})
#: The fields of an answer that name the message it answers.
_CAUSE_FIELDS = ("command_id", "causation_id", "event_id")


@dataclass(frozen=True)
class Sent:
    """One fuzzed record where it landed; `message_id` when its envelope reads."""

    topic: str
    partition: int
    offset: int
    message_id: str | None
    mutation: str
    type: str
    #: The value parses as a message of its topic (and is not oversized): a valid command.
    valid: bool = False

    @property
    def source(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


class Observer:
    """Follows the run's answer and dead-letter topics from their beginning."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap, self.prefix = bootstrap, prefix
        names = {*ANSWER_TOPIC.values(), *(topics.dlq(t) for t in ANSWER_TOPIC)}
        self.consumer = follower(bootstrap, *(prefix + n for n in sorted(names)))
        self.answers: dict[str, dict[str, object]] = {}
        #: Dead letters by the record they came from (`<prefixed topic>/<partition>/<offset>`).
        self.letters: dict[str, str] = {}
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Observer:
        await self.consumer.start()
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()

    async def _pump(self) -> None:
        async for record in self.consumer:
            if record.topic.endswith(topics.DLQ_SUFFIX):
                headers = {k: v.decode("utf-8", "replace") for k, v in record.headers or ()}
                self.letters[headers.get(DLQ_SOURCE, "?")] = headers.get(DLQ_REASON, "?")
            else:
                with contextlib.suppress(ValueError):
                    body = json.loads(record.value or b"{}")
                    for name in _CAUSE_FIELDS:
                        if isinstance(body, dict) and body.get(name):
                            self.answers.setdefault(str(body[name]), body)
            async with self._changed:
                self._changed.notify_all()

    async def answer(self, message_id: str, timeout: float = 60.0) -> dict[str, object]:
        """The answer to `message_id`, once it came."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: message_id in self.answers)
        return self.answers[message_id]

    def outcome(self, sent: Sent) -> str | None:
        """`answered`, `dead-lettered (<reason>)`, `accepted silently`, or None yet."""
        if sent.message_id is not None and sent.message_id in self.answers:
            return "answered"
        letter = self.letters.get(self.prefix + sent.source)
        if letter is not None:
            return f"dead-lettered ({letter})"
        return None

    async def settle(self, sent: Iterable[Sent], timeout: float = 60.0) -> list[Sent]:
        """Wait until each record is answered or dead-lettered; those still not, at the end
        (records of `SILENT_WHEN_ACCEPTED` topics count once their group has passed them)."""
        waiting = [s for s in sent if s.topic not in SILENT_WHEN_ACCEPTED]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: all(self.outcome(s) for s in waiting))
        return [s for s in waiting if self.outcome(s) is None]


async def committed(bootstrap: str, prefix: str) -> dict[tuple[str, int], int]:
    """The lowest committed offset of the run's consumer groups, per partition (a topic
    two services consume, such as accounts.events, is only as far as the slower)."""
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    await admin.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefix)]
        found: dict[tuple[str, int], int] = {}
        for group in groups:
            for tp, meta in (await admin.list_consumer_group_offsets(group)).items():
                if tp.topic.startswith(prefix) and meta.offset >= 0:
                    key = (tp.topic[len(prefix) :], tp.partition)
                    found[key] = min(found.get(key, meta.offset), meta.offset)
        return found
    finally:
        await admin.close()


async def unhandled(
    bootstrap: str, prefix: str, sent: Iterable[Sent], timeout: float = 30.0
) -> list[Sent]:
    """The records no consumer group has committed past within `timeout` (a stalled
    consumer leaves its partition's offset behind them)."""
    pending = list(sent)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pending:
        offsets = await committed(bootstrap, prefix)
        pending = [s for s in pending if offsets.get((s.topic, s.partition), -1) <= s.offset]
        if not pending or loop.time() > deadline:
            break
        await asyncio.sleep(0.2)
    return pending
