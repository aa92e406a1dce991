"""The CLI's view of Kafka: publish commands like upstream, watch events like downstream."""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import topics
from contracts.envelope import Message
from orderflow.kafka import Follower, Record, Upstream

#: The event topics an order's timeline is made of.
TIMELINE_TOPICS = (
    topics.ORDERS_EVENTS,
    topics.INVOICING_EVENTS,
    topics.PAYMENTS_EVENTS,
    topics.NOTIFICATIONS_EVENTS,
    topics.SUPPLIERS_EVENTS,  # keyed by supplier id: a supplier's settings (P-11, P-14)
    topics.ACCOUNTS_ANSWERS,  # keyed by account id: ordering registered an account
)


@dataclass(frozen=True)
class Seen:
    """One event as read from a topic."""

    topic: str
    order_id: str
    body: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.body.get("type", "?"))

    def line(self) -> str:
        """One line of a timeline: when, what, which status, who."""
        at = self.body.get("occurred_at", "")
        with contextlib.suppress(ValueError):
            at = datetime.fromisoformat(at).strftime("%H:%M:%S")
        actor = self.body.get("actor", {})
        status = self.body.get("status") or ""
        arrow = f"→ {status}" if status else ""
        who = f"{actor.get('id', '?')} ({actor.get('role', '?')})"
        line = f"{at}  {self.order_id[:8]}  {self.type:<28} {arrow:<28} by {who}"
        if "reason" in self.body and "message" in self.body:  # a rejection says why
            line += f"  [{self.body['reason']}: {self.body['message']}]"
        return line


class Bus:
    """Publishes commands and fans events out to printers and waiters."""

    def __init__(
        self,
        bootstrap: str,
        prefix: str = "",
        from_beginning: bool = False,
        keep: Callable[[str], bool] | None = None,
    ) -> None:
        self.bootstrap, self.prefix = bootstrap, prefix
        #: Which orders' events to keep (by order id); None: every order's.
        self.keep = keep
        self.upstream = Upstream(bootstrap, prefix)
        self.follower = Follower(
            bootstrap, TIMELINE_TOPICS, self._take, prefix, from_beginning=from_beginning
        )
        self.history: dict[str, list[Seen]] = defaultdict(list)
        self.listeners: list[Callable[[Seen], None]] = []

    async def __aenter__(self) -> Bus:
        await self.upstream.__aenter__()
        await self.follower.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.follower.__aexit__()
        await self.upstream.__aexit__()

    async def send(self, topic: str, *messages: Message) -> None:
        await self.upstream.send(topic, *messages)

    async def send_raw(self, topic: str, value: bytes, key: bytes | None) -> None:
        await self.upstream.send_raw(topic, value, key)

    async def wait_for(self, order_id: object, types: Iterable[str], timeout: float = 60.0) -> Seen:
        """The first event of `order_id` whose type is one of `types` (past or future)."""
        wanted, key = set(types), str(order_id)
        return await self.follower.wait(
            lambda: next((s for s in self.history[key] if s.type in wanted), None), timeout
        )

    async def answer(self, message: Message, timeout: float = 30.0) -> Seen:
        """The first event `message` caused (its answer, or its rejection: X-07), once sent."""
        cause, key = str(message.message_id), message.kafka_key().decode()

        def caused() -> Seen | None:
            for seen in self.history[key]:
                if cause in (seen.body.get("causation_id"), seen.body.get("command_id")):
                    return seen
            return None

        try:
            return await self.follower.wait(caused, timeout)
        except TimeoutError:
            seen = [(s.type, s.body.get("status"), s.body.get("reason")) for s in self.history[key]]
            raise TimeoutError(
                f"no answer to {message.type} about {key} in {timeout}s; saw {seen}"
            ) from None

    async def caught_up(self, timeout: float = 60.0) -> None:
        """Wait until every event that was on the topics when the bus started has been read
        (`from_beginning` only; otherwise there is no past to wait for)."""
        await self.follower.caught_up(timeout)

    async def read_to_now(self, timeout: float = 60.0) -> None:
        """Wait until every event on the timeline topics now has been read: what `history`
        lacks then was not published before this call (a marker to prove absence by)."""
        await self.follower.read_to_now(timeout)

    def _take(self, records: list[Record]) -> None:
        for record in records:
            seen = self._seen(record)
            if seen is not None:
                self.history[seen.order_id].append(seen)
                for listener in self.listeners:
                    listener(seen)

    def _seen(self, record: Record) -> Seen | None:
        try:
            body = json.loads(record.value or b"{}")
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        order_id = str(body.get("order_id") or (record.key or b"").decode())
        if self.keep is not None and not self.keep(order_id):
            return None
        return Seen(record.topic, order_id, body)
