"""payments' handlers: load, decide, save, publish. No business rule lives here.

    payments.commands ─▶ handle_command      ─▶ payments.events (+ orders.commands,
    orders.events     ─▶ handle_order_event  ─▶ payments.events    timers.commands)
    timers.events     ─▶ handle_deadline     ─▶ payments.events

Every effect is exactly once per message: `servicekit.aggregates.handle_once` stores the
message id with the ledger's new state and its outbox; a redelivery changes nothing. A
fired timer is keyed by its deadline id, since the timer service may fire it twice. A
refused command is stored the same way (X-09): sent again, it gets its first answer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.envelope import Event, Message
from contracts.orders import Flow, OrderCommandRejected, OrderEvent
from contracts.payments import PaymentCommand, PaymentCommandRejected
from contracts.timers import DeadlineExpired, TimerEvent
from contracts.topics import ORDERS_COMMANDS, PAYMENTS_EVENTS, TIMERS_COMMANDS
from payments.domain import (
    PAYMENTS,
    DeadlineFired,
    Decision,
    DecisionContext,
    Ledger,
    Policy,
    decide,
    on_deadline,
    on_order_event,
)
from payments.store import index_fields, rebuild, to_document
from servicekit.aggregates import (
    Aggregates,
    Change,
    Document,
    Refusal,
    Stored,
    handle_once,
    outbox_entry,
)
from servicekit.deadlines import handled_as, timer_command
from servicekit.invalid import InvalidCommand
from servicekit.logs import log_context

log = logging.getLogger("payments.handlers")

OWNER = "payments"
#: One of the domain's entry points: (ledger, message, now, ctx) -> Decision.
Entry = Callable[[Ledger | None, Any, datetime, DecisionContext], Decision]


@dataclass(frozen=True)
class Deps:
    """What the handlers need; built once by the composition root (`app.build`)."""

    payments: Aggregates
    policy: Policy
    publish_outbox: Callable[[Sequence[Document]], Awaitable[None]]
    clock: Callable[[], datetime]
    #: The policy with the days off and the claim reopen window (P-18, P-21).
    context: DecisionContext | None = None

    def decision_context(self) -> DecisionContext:
        return self.context or DecisionContext(policy=self.policy)


async def handle_command(command: PaymentCommand, deps: Deps) -> None:
    """Rules X-07, X-09: every command gets its resulting events or a rejection, once."""
    with log_context(order_id=str(command.order_id), message_type=command.type):
        await _handle(deps, str(command.order_id), command, decide, answers_on=PAYMENTS_EVENTS)


async def handle_order_event(event: Event, deps: Deps) -> None:
    """Rules P-11, P-14, P-15: follow post-paid orders; open requests, charge fees."""
    if isinstance(event, OrderCommandRejected):
        if event.command_type in ("MarkOrderPaid", "MarkOrderUnpaid"):
            log.warning(
                "ordering refused %s",
                event.command_type,
                extra={"order_id": str(event.order_id), "reason": event.reason},
            )
        return
    if not isinstance(event, OrderEvent) or event.flow is not Flow.POSTPAID:
        return
    with log_context(order_id=str(event.order_id), message_type=event.type):
        await _handle(deps, str(event.order_id), event, on_order_event)


async def handle_deadline(event: TimerEvent, deps: Deps) -> None:
    """Rule X-02: a fired timer acts only if the ledger still waits for it."""
    if not isinstance(event, DeadlineExpired):
        if event.deadline_id.startswith(f"{OWNER}:"):
            log.warning("timer command rejected", extra={"deadline_id": event.deadline_id})
        return
    if event.owner != OWNER:
        return
    fired = DeadlineFired(
        deadline_id=event.deadline_id,
        kind=event.kind,
        order_id=uuid.UUID(event.order_id),
        due_at=event.due_at,
        message_id=event.message_id,
        correlation_id=event.correlation_id,
    )
    with log_context(order_id=event.order_id, deadline_kind=event.kind):
        await _handle(deps, event.order_id, event, on_deadline, fired)


async def _handle(
    deps: Deps,
    order_id: str,
    cause: Message,
    entry: Entry,
    message: object = None,
    *,
    answers_on: str | None = None,
) -> None:
    """`entry(ledger, message, now, ctx)` once for `cause` (the message itself unless
    given); only a command is ever refused, and its refusal is stored too (X-09)."""
    now = deps.clock()
    ctx = deps.decision_context()
    subject = cause if message is None else message
    message_id = handled_as(cause)

    async def decide_change(stored: Stored | None) -> Change | Refusal | None:
        decision = entry(rebuild(stored), subject, now, ctx)
        if isinstance(rejected := decision.rejection_event, PaymentCommandRejected):
            return Refusal([outbox_entry(PAYMENTS_EVENTS, rejected)], rejected.reason)
        return change(decision, cause, now)

    handled = await handle_once(
        deps.payments,
        order_id,
        message_id,
        decide_change,
        deps.publish_outbox,
        answers_on=answers_on,
    )
    if handled.refusal is not None:
        log.info("command rejected", extra={"reason": handled.refusal.reason})


def change(decision: Decision, cause: Message, now: datetime) -> Change | None:
    """The stored form of a decision: the new ledger, its events, what to publish; None
    when there is nothing to store (a rejection, a stale timer, another flow's event)."""
    after = decision.after
    if after is None or not decision.changed:
        return None
    timers = [timer_command(d, cause, i, now, PAYMENTS) for i, d in enumerate(decision.deadlines)]
    return Change(
        state=to_document(after),
        events=[e.model_dump(mode="json") for e in decision.events],
        outbox=[outbox_entry(PAYMENTS_EVENTS, e) for e in decision.events]
        + [outbox_entry(ORDERS_COMMANDS, c) for c in decision.commands]
        + [outbox_entry(TIMERS_COMMANDS, t) for t in timers],
        index=index_fields(after, now),
    )


def invalid_command(command: InvalidCommand) -> PaymentCommandRejected:
    """X-13: the answer to a command whose content is invalid (its order id must read)."""
    fields = command.answer_fields(PAYMENTS) | {"order_id": command.body.get("order_id")}
    return PaymentCommandRejected.model_validate(fields)
