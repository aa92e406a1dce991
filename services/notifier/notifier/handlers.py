"""notifier's handlers: learn, plan, hand over. No business rule lives here.

    orders.events     ─▶ handle_event ─▶ order facts (OrderCreated, DraftEdited)
    invoicing.events  ─▶ handle_event ─┐
    payments.events   ─▶ handle_event ─┴▶ plan (domain) ─▶ dispatcher.submit (claims)
                                                          └▶ SMTP ─▶ notifications.events

A handler returns once its emails are claimed: a redelivered event finds its claims and
sends nothing again. Sending, retrying and announcing are the dispatcher's.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from contracts.envelope import Event
from contracts.orders import DraftEdited, OrderCreated
from notifier.domain import Email, EmailPolicy, OrderFacts, cause_of, learn, needs_facts, plan

log = logging.getLogger("notifier.handlers")


class Facts(Protocol):
    async def remember(self, facts: OrderFacts) -> None: ...

    async def get(self, order_id: uuid.UUID) -> OrderFacts | None: ...


class Submit(Protocol):
    async def submit(self, emails: Sequence[Email]) -> int: ...


@dataclass(frozen=True)
class Deps:
    """What the handlers need; built once by the composition root (`app.build`)."""

    facts: Facts
    dispatcher: Submit
    policy: EmailPolicy


async def handle_event(event: Event, deps: Deps) -> None:
    """Rule X-06: the emails the rules name for `event`, each claimed once."""
    facts: OrderFacts | None = None
    order_id = cause_of(event).order_id
    if isinstance(event, OrderCreated | DraftEdited):
        facts = learn(event)
        await deps.facts.remember(facts)
    elif order_id is not None and needs_facts(event):
        facts = await deps.facts.get(order_id)
    emails = plan(event, facts, deps.policy)
    if emails:
        queued = await deps.dispatcher.submit(emails)
        log.info("emails planned", extra={"emails": len(emails), "queued": queued})
