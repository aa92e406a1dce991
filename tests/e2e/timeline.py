"""Driving the system like upstream and reading it like downstream, for the scenarios.

    person(role, system)          a party with an id and an email unique to this test
    send(system, topic, *msgs)    publish as upstream does (commands, accounts)
    answer(system, topic, cmd)    the first event the command caused, or its rejection
    accepted / refused            `answer`, asserting it is the expected event / reason
                                  (the steps of `orderflow.scenarios`, which the demo plays)
    events(system, key, ...)      what the bus saw about an order (or account), by id
    until(system, key, check)     wait until the events of `key` satisfy `check`
    InvoiceCalendar               invoicing's compressed calendar (invoice dates are days)
    handled(system, *services)    wait until the services handled all that is on their topics
                                  now, and the bus read what came of it (to prove absence)
    ready(system, *services)      wait until the services' consumers have their partitions
                                  (for a test whose windows start counting now)

Events are counted by message id: a service may publish an event again after a crash or
a rebalance (at least once), and then the copy has the same id, so it is the same event.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts.envelope import Command, Message, Role
from contracts.orders import OrderParty
from orderflow import commands as c
from orderflow import scenarios
from orderflow.kafka import committed, end_offsets
from orderflow.launcher import GATEWAY
from servicekit.config import ServiceSettings
from tests.e2e.conftest import System


def person(role: Role, system: System) -> OrderParty:
    """A party whose id and email no other test, and no other run, uses."""
    tag = f"{role.value}-{uuid.uuid4().hex[:8]}"
    return c.party(tag, role, f"{tag}@{system.run_id}.e2e.example.com")


def email(party: OrderParty) -> str:
    assert party.contact is not None
    return str(party.contact.email)


async def send(system: System, topic: str, *messages: Message) -> None:
    """Publish as upstream does: commands, or the billing system's account events."""
    await system.bus.send(topic, *messages)


def events(
    system: System, key: object, topic: str | None = None, *types: str
) -> list[dict[str, Any]]:
    """The distinct events about `key` in the order seen, of `topic` and `types` if given."""
    seen: set[str] = set()
    found = []
    for s in list(system.bus.history[str(key)]):
        if topic is not None and s.topic != topic:
            continue
        if types and s.type not in types:
            continue
        message_id = str(s.body.get("message_id"))
        if message_id not in seen:
            seen.add(message_id)
            found.append(s.body)
    return found


def types_of(system: System, key: object, topic: str) -> list[str]:
    return [e["type"] for e in events(system, key, topic)]


async def until(
    system: System,
    key: object,
    check: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 60.0,
    what: str = "",
) -> list[dict[str, Any]]:
    """Wait until the events of `key` (all topics) satisfy `check`; return them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = events(system, key)
        if check(found):
            return found
        if loop.time() > deadline:
            seen = [(e["type"], e.get("status"), e.get("reason")) for e in found]
            raise TimeoutError(f"{what or check} not seen for {key} in {timeout}s; saw {seen}")
        await asyncio.sleep(0.1)


def count_of(n: int, *types: str) -> Callable[[list[dict[str, Any]]], bool]:
    """`check` for `until`: at least n distinct events of these types."""
    return lambda found: sum(e["type"] in types for e in found) >= n


async def wait_for(
    system: System, key: object, *types: str, count: int = 1, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """The first `count` distinct events of `types` about `key`, once they are there."""
    found = await until(system, key, count_of(count, *types), timeout, f"{count} x {types}")
    return [e for e in found if e["type"] in types][:count]


async def answer(
    system: System, topic: str, command: Command, timeout: float = 30.0
) -> dict[str, Any]:
    """Send `command` and return the first event it caused, or its rejection (X-07)."""
    return await scenarios.answer(system.bus, topic, command, timeout)


async def accepted(system: System, topic: str, command: Command, expected: str) -> dict[str, Any]:
    """Send `command`; its first event must be `expected`."""
    return await scenarios.accepted(system.bus, topic, command, expected)


async def refused(system: System, topic: str, command: Command, reason: str) -> dict[str, Any]:
    """Send `command`; it must be rejected with `reason` (X-07)."""
    return await scenarios.refused(system.bus, topic, command, reason)


@dataclass(frozen=True)
class InvoiceCalendar:
    """invoicing's compressed calendar: from `origin` on, a day lasts `day` seconds and
    an invoice's draft comes `lead` seconds before its date starts (M-10, M-12)."""

    origin: datetime
    day: float
    lead: float

    def env(self) -> dict[str, str]:
        """The invoicing settings that make it so (a module's `EXTRA_ENV`)."""
        return {
            "ORDERFLOW_INVOICE_CALENDAR_ORIGIN": self.origin.isoformat(),
            "ORDERFLOW_INVOICE_CALENDAR_DAY": str(self.day),
            "ORDERFLOW_INVOICE_DRAFT_LEAD": str(self.lead),
        }

    def first_day(self, seconds_from_now: float) -> date:
        """The first day whose draft comes at least `seconds_from_now` from now."""
        elapsed = (datetime.now(UTC) - self.origin).total_seconds()
        days = math.ceil((elapsed + seconds_from_now + self.lead) / self.day)
        return self.origin.date() + timedelta(days=days)


def starting_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@functools.cache
def reads(service: str) -> tuple[str, tuple[str, ...]]:
    """The consumer group (without the prefix) of `service` and the topics it reads, from
    its own composition root (nothing is connected by building it)."""
    runtime = importlib.import_module(f"{service}.app").build(ServiceSettings(topic_prefix=""))
    [group] = [name for kind, name, _ in runtime.kafka_acls() if kind == "GROUP"]
    return group, runtime.consumed_topics


async def handled(system: System, *services: str, timeout: float = 60.0) -> None:
    """Wait until `services` (by default every running one) have handled every message on
    the topics they read as of now, and the bus has read every event published meanwhile.

    The later marker that proves absence: a service commits an offset only after its
    handler stored and published what it caused (servicekit/runtime.py), so once its
    group's committed offsets reach the topics' present ends, an effect of those messages
    that the bus has not seen by now never happened. No sleeping.
    """
    running = (p.module for p in system.launcher.processes if p.module != GATEWAY)
    names = services or tuple(dict.fromkeys(running))  # the gateway: a group per topic
    bootstrap, prefix = system.stack.kafka_bootstrap, system.prefix
    every = {topic for name in names for topic in reads(name)[1]}
    ends = await end_offsets(bootstrap, every, prefix)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for name in names:
        group, topics = reads(name)
        while True:
            done = await committed(bootstrap, prefix + group, prefix)
            behind = {
                tp: end for tp, end in ends.items() if tp[0] in topics and done.get(tp, 0) < end
            }
            if not behind:
                break
            if loop.time() > deadline:
                raise TimeoutError(f"{name} has not handled {behind} in {timeout}s")
            await asyncio.sleep(0.2)
    await system.bus.read_to_now(max(1.0, deadline - loop.time()))


async def ready(system: System, *services: str, timeout: float = 90.0) -> None:
    """Wait until `services` (by default every running one) have joined their consumer
    groups and had their partitions assigned (all of /readyz). The services report ready
    before that (messages wait in their topics), which a window of seconds that starts
    now may not survive on a loaded machine: its clock starts after this."""
    names = set(services) or {p.module for p in system.launcher.processes}
    await asyncio.gather(
        *(
            p.wait_healthy(timeout, assigned=True)
            for p in system.launcher.processes
            if p.module in names and p.module != GATEWAY
        )
    )
