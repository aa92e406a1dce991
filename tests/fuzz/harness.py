"""The fuzz run's view of the system: what it sent, what came back, what was dead-lettered.

ANSWER_TOPIC     command topic -> where its answers go (X-07)
Observer         reads every answer topic and dead-letter topic of the run from the
                 start: answered message ids, dead letters by source record
Sent             one fuzzed record as it landed (topic, partition, offset, its id)
lowest_committed the slowest of the run's groups' committed offsets, per partition
unhandled(...)   records no consumer group has committed past
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from contracts import topics
from orderflow.kafka import Follower, Record, committed, groups
from servicekit.deadletters import DLQ_REASON, DLQ_SOURCE

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
        self.prefix = prefix
        names = {*ANSWER_TOPIC.values(), *(topics.dlq(t) for t in ANSWER_TOPIC)}
        self.follower = Follower(bootstrap, sorted(names), self._take, prefix)
        self.answers: dict[str, dict[str, object]] = {}
        #: Dead letters by the record they came from (`<prefixed topic>/<partition>/<offset>`).
        self.letters: dict[str, str] = {}

    async def __aenter__(self) -> Observer:
        await self.follower.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.follower.__aexit__()

    def _take(self, records: list[Record]) -> None:
        for record in records:
            if record.topic.endswith(topics.DLQ_SUFFIX):
                headers = record.headers
                self.letters[headers.get(DLQ_SOURCE, "?")] = headers.get(DLQ_REASON, "?")
            else:
                with contextlib.suppress(ValueError):
                    body = json.loads(record.value or b"{}")
                    for name in _CAUSE_FIELDS:
                        if isinstance(body, dict) and body.get(name):
                            self.answers.setdefault(str(body[name]), body)

    async def answer(self, message_id: str, timeout: float = 60.0) -> dict[str, object]:
        """The answer to `message_id`, once it came."""
        return await self.follower.wait(lambda: self.answers.get(message_id), timeout)

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
            await self.follower.wait(lambda: all(self.outcome(s) for s in waiting), timeout)
        return [s for s in waiting if self.outcome(s) is None]


async def lowest_committed(bootstrap: str, prefix: str) -> dict[tuple[str, int], int]:
    """The lowest committed offset of the run's consumer groups, per partition (a topic
    two services consume, such as accounts.events, is only as far as the slower)."""
    found: dict[tuple[str, int], int] = {}
    for group in await groups(bootstrap, prefix):
        for key, offset in (await committed(bootstrap, group, prefix)).items():
            found[key] = min(found.get(key, offset), offset)
    return found


async def unhandled(
    bootstrap: str, prefix: str, sent: Iterable[Sent], timeout: float = 30.0
) -> list[Sent]:
    """The records no consumer group has committed past within `timeout` (a stalled
    consumer leaves its partition's offset behind them)."""
    pending = list(sent)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pending:
        offsets = await lowest_committed(bootstrap, prefix)
        pending = [s for s in pending if offsets.get((s.topic, s.partition), -1) <= s.offset]
        if not pending or loop.time() > deadline:
            break
        await asyncio.sleep(0.2)
    return pending
