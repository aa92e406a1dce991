"""notifier's handlers: learn, plan, hand over. No business rule lives here.

    orders.events     ─▶ handle_event ─▶ order facts (OrderCreated, DraftEdited)
    invoicing.events  ─▶ handle_event ─┐
    payments.events   ─▶ handle_event ─┴▶ plan (domain) ─▶ dispatcher.submit (claims)
                                     │                    └▶ SMTP ─▶ notifications.events
                                     └▶ remind (domain) ─▶ windows + timers.commands (X-12)
    timers.events     ─▶ handle_deadline ─▶ the window still open? ─▶ dispatcher.submit

A handler returns once its emails are claimed: a redelivered event finds its claims and
sends nothing again. Sending, retrying and announcing are the dispatcher's.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from contracts.envelope import Event, Message, derived_id
from contracts.orders import DraftEdited, OrderCreated, OrderSentToClient
from contracts.timers import DeadlineExpired, TimerCommand, TimerCommandRejected
from contracts.topics import TIMERS_COMMANDS
from notifier import metrics
from notifier.domain import (
    NOTIFIER,
    Email,
    EmailPolicy,
    OrderFacts,
    cause_of,
    learn,
    needs_facts,
    plan,
    reminders,
)
from notifier.domain.reminders import Action, Open, Window, reminder_due, window_of
from servicekit import deadlines
from servicekit.deadlines import CancelDeadline, DeadlineRequest, ScheduleDeadline

log = logging.getLogger("notifier.handlers")


class Facts(Protocol):
    async def remember(self, facts: OrderFacts) -> None: ...

    async def get(self, order_id: uuid.UUID) -> OrderFacts | None: ...

    async def client_asked(self, order_id: uuid.UUID) -> None: ...


class Windows(Protocol):
    async def open(self, window: Open) -> None: ...

    async def close(self, window_id: str) -> None: ...

    async def get(self, window_id: str) -> Window | None: ...


class Submit(Protocol):
    async def submit(self, emails: Sequence[Email]) -> int: ...


@dataclass(frozen=True)
class Deps:
    """What the handlers need; built once by the composition root (`app.build`)."""

    facts: Facts
    dispatcher: Submit
    policy: EmailPolicy
    #: X-12: the reminders' windows and the timer commands; None: no reminders (unit tests
    #: of the emails alone).
    windows: Windows | None = None
    publish: Callable[..., Awaitable[None]] | None = None
    clock: Callable[[], datetime] | None = None


async def handle_event(event: Event, deps: Deps) -> None:
    """Rule X-06: the emails the rules name for `event`, each claimed once; X-12: the
    reminders it opens or closes."""
    facts: OrderFacts | None = None
    order_id = cause_of(event).order_id
    writes: list[Awaitable[None]] = []
    if isinstance(event, OrderCreated | DraftEdited):
        facts = learn(event)
        # Written beside the claims and windows below: none reads what another writes,
        # each is idempotent, and the handler returns only once all are stored.
        writes.append(deps.facts.remember(facts))
    elif order_id is not None and (needs_facts(event) or reminders.touches(event)):
        facts = await deps.facts.get(order_id)
    if isinstance(event, OrderSentToClient):
        await deps.facts.client_asked(event.order_id)  # M-09: an expiry now is the client's
    emails = plan(event, facts, deps.policy)
    if emails:
        writes.append(_submit(emails, deps))
    if deps.windows is not None:
        writes.append(_keep_windows(event, reminders.remind(event, facts, deps.policy), deps))
    await _all(writes)


async def _submit(emails: list[Email], deps: Deps) -> None:
    queued = await deps.dispatcher.submit(emails)
    log.info("emails planned", extra={"emails": len(emails), "queued": queued})


async def _all(writes: list[Awaitable[None]]) -> None:
    """Await every write, even when one fails (none is left running), then raise the first
    failure: the message is handled again and the writes that went through absorb it."""
    results = await asyncio.gather(*writes, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _keep_windows(event: Event, actions: list[Action], deps: Deps) -> None:
    """Record each window, then ask the timer service; a redelivery does both again with
    the same command ids (derived from the event's), which the timer service absorbs."""
    assert deps.windows is not None and deps.publish is not None and deps.clock is not None
    commands: list[TimerCommand] = []
    for index, action in enumerate(actions):
        if isinstance(action, Open):
            await deps.windows.open(action)
        else:
            await deps.windows.close(action.window_id)
        commands.append(timer_command(action, event, index, deps.clock()))
        step = "scheduled" if isinstance(action, Open) else "cancelled"
        metrics.REMINDERS.labels(window_of(action.window_id), step).inc()
    if commands:
        await deps.publish(TIMERS_COMMANDS, *commands)
        log.info("reminders kept", extra={"commands": len(commands)})


def timer_command(action: Action, cause: Message, index: int, now: datetime) -> TimerCommand:
    """The timer service's command for a window, as servicekit.deadlines builds it, but for
    its id: salted with the notifier's name (ordering and payments derive theirs from the
    same events)."""
    request: DeadlineRequest = CancelDeadline(action.window_id, action.order_id)
    if isinstance(action, Open):
        opened_by = {"opened_by": str(action.opened_by)}
        request = ScheduleDeadline(
            action.window_id, action.order_id, action.kind, action.due_at, opened_by
        )
    salted = derived_id(cause.message_id, index, "notifier-timer")
    command = deadlines.timer_command(request, cause, index, now, NOTIFIER)
    return command.model_copy(update={"message_id": salted})


async def handle_deadline(event: Event, deps: Deps) -> None:
    """Rule X-12: a reminder fell due; it is sent once, and only if its window is still
    the one it was scheduled for and still open (X-02: a stale deadline changes nothing)."""
    if isinstance(event, TimerCommandRejected) and window_of(event.deadline_id):
        log.warning(
            "reminder refused by the timer service",
            extra={"reason": event.reason, "deadline_id": event.deadline_id},
        )
        return
    if not isinstance(event, DeadlineExpired) or event.owner != reminders.OWNER:
        return
    if deps.windows is None:
        return
    name = window_of(event.deadline_id)
    opened_by = event.payload.get("opened_by")
    assert deps.clock is not None
    window = await deps.windows.get(event.deadline_id)
    email = reminder_due(window, str(opened_by), deps.clock())
    if email is None:
        metrics.REMINDERS.labels(name, "stale").inc()
        log.info("stale reminder: its window closed or moved on", extra={"kind": event.kind})
        return
    queued = await deps.dispatcher.submit([email])
    metrics.REMINDERS.labels(name, "due").inc()
    log.info("reminder due", extra={"kind": event.kind, "queued": queued})
