"""ordering's handlers: load, decide, save, publish. No business rule lives here.

    orders.commands  ─▶ handle_command   ─▶ orders.events (+ timers.commands)
    timers.events    ─▶ handle_deadline  ─▶ orders.events (+ timers.commands)
    accounts.events  ─▶ handle_account   ─▶ the accounts ordering judges A-01/A-05 by
                                            (+ accounts.answers: registered or rejected)
    suppliers.commands ─▶ handle_supplier_command ─▶ suppliers.events (P-11, P-14)

Every effect is exactly once per message: `servicekit.aggregates.handle_once` stores the
message id with the order's new events; a redelivery changes nothing. A refusal is stored
the same way (X-09), so a command delivered or sent again gets its first answer again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from prometheus_client import Counter

from contracts.accounts import AccountOpened, AccountRegistered
from contracts.envelope import Message, Party, Role, derived_id
from contracts.orders import CreateOrder, OrderCommand, OrderCommandRejected, OrderEvent
from contracts.suppliers import SetSupplierSettings, SupplierCommandRejected
from contracts.timers import DeadlineExpired, TimerCommandRejected
from contracts.topics import ACCOUNTS_ANSWERS, ORDERS_EVENTS, SUPPLIERS_EVENTS, TIMERS_COMMANDS
from ordering.domain import (
    Catalogue,
    DeadlineFired,
    DeadlineRequest,
    DecisionContext,
    Order,
    Policy,
    by_order,
    decide,
    fold,
    on_deadline,
)
from ordering.domain.registration import register
from ordering.domain.suppliers import settings_set
from ordering.store import ORDERS, AccountsStore, SupplierSettingsStore, index_fields
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

#: M-04: ops watch this; the order itself does not change status.
REVIEW_OVERDUE = Counter(
    "orderflow_operator_review_overdue", "Submitted orders still unreviewed after the target."
)

#: A-13: likewise for approvals still pending after the approval target.
APPROVAL_OVERDUE = Counter(
    "orderflow_approval_overdue", "Account orders still awaiting approval after the target."
)

log = logging.getLogger("ordering.handlers")

OWNER = "ordering"
ORDERING = Party(id=OWNER, role=Role.SYSTEM)


@dataclass(frozen=True)
class Deps:
    """What the handlers need; built once by the composition root (`app.build`)."""

    orders: Aggregates
    accounts: AccountsStore
    policy: Policy
    catalogue: Catalogue
    token_secret: bytes
    publish_outbox: Callable[[Sequence[Document]], Awaitable[None]]
    clock: Callable[[], datetime]
    suppliers: SupplierSettingsStore


def rebuild(stored: Stored | None) -> Order | None:
    """An order as of its newest commit (None if only refusals were recorded for it)."""
    return None if stored is None or not stored.exists else ORDERS.load(stored.state)


async def handle_command(command: OrderCommand, deps: Deps) -> None:
    """Rules X-07, X-09: every command gets its resulting events or a rejection, once."""
    now = deps.clock()

    async def decide_change(stored: Stored | None) -> Change | Refusal:
        order = rebuild(stored)
        ctx = DecisionContext(
            policy=deps.policy,
            token_secret=deps.token_secret,
            accounts=await deps.accounts.directory_for(command, order),
            catalogue=deps.catalogue,
            new_order_id=lambda: derived_id(command.message_id, 0, "order"),
            supplier_settings=await deps.suppliers.history_for(command),
        )
        decision = decide(order, command, now, ctx)
        if decision.rejection is not None:
            rejected = [decision.rejection_event] if decision.rejection_event else []
            reason = decision.rejection.reason.value
            return Refusal([outbox_entry(ORDERS_EVENTS, e) for e in rejected], reason)
        grouped = by_order(decision.events)
        own = change(
            order,
            grouped.get(command.order_id, []),
            _own(decision.deadlines, command.order_id),
            command,
            now,
            decision.after,
        )
        others = {  # M-15: a duplicate is a new order
            str(other_id): change(None, events, _own(decision.deadlines, other_id), command, now)
            for other_id, events in grouped.items()
            if other_id != command.order_id
        }
        return replace(own, others=others)

    with log_context(order_id=str(command.order_id), message_type=command.type):
        handled = await handle_once(
            deps.orders,
            str(command.order_id),
            str(command.message_id),
            decide_change,
            deps.publish_outbox,
            answers_on=ORDERS_EVENTS,
            fresh=isinstance(command, CreateOrder),  # a new order id: nothing to read
        )
        if handled.refusal is not None:
            log.info("command rejected", extra={"reason": handled.refusal.reason})


async def handle_deadline(event: DeadlineExpired | TimerCommandRejected, deps: Deps) -> None:
    """Rule X-02: a fired deadline moves the order only if its window still applies."""
    if isinstance(event, TimerCommandRejected):
        log.warning(
            "timer command rejected",
            extra={"reason": event.reason, "deadline_id": event.deadline_id},
        )
        return
    if event.owner != OWNER:
        return
    now = deps.clock()
    order_id = uuid.UUID(event.order_id)
    fired = DeadlineFired(
        deadline_id=event.deadline_id,
        kind=event.kind,
        order_id=order_id,
        due_at=event.due_at,
        message_id=event.message_id,
        correlation_id=event.correlation_id,
    )
    ctx = DecisionContext(
        policy=deps.policy, token_secret=deps.token_secret, catalogue=deps.catalogue
    )

    async def decide_change(stored: Stored | None) -> Change | None:
        order = rebuild(stored)
        if order is None:
            return None
        decision = on_deadline(order, fired, now, ctx)
        if not decision.events:
            return None  # stale: the order moved on
        if any(e.type == "OperatorReviewOverdue" for e in decision.events):
            REVIEW_OVERDUE.inc()
        if any(e.type == "ApprovalOverdue" for e in decision.events):
            APPROVAL_OVERDUE.inc()
        own = _own(decision.deadlines, order_id)
        return change(order, decision.events, own, event, now, decision.after)

    with log_context(order_id=event.order_id, deadline_kind=event.kind):
        await handle_once(
            deps.orders,
            event.order_id,
            handled_as(event),
            decide_change,
            deps.publish_outbox,
        )


async def handle_account(event: AccountOpened, deps: Deps) -> None:
    """Rules A-01, A-02, A-05: keep what ordering needs to know of an account, and answer
    (X-07) so that upstream knows when it may order against it."""
    answer = register(event, deps.clock(), ORDERING)
    if isinstance(answer, AccountRegistered):
        await deps.accounts.upsert(event)
    else:
        log.info("account event rejected", extra={"reason": answer.reason})
    await deps.publish_outbox([outbox_entry(ACCOUNTS_ANSWERS, answer)])


async def handle_supplier_command(command: SetSupplierSettings, deps: Deps) -> None:
    """Rules P-11, P-14: record a version of a supplier's settings, never overwriting one;
    a redelivered command gets the answer first recorded for it (X-09)."""
    with log_context(message_type=command.type):
        answer = settings_set(command, deps.clock())
        if isinstance(answer, SupplierCommandRejected):
            log.info("supplier command rejected", extra={"reason": answer.reason})
        else:
            answer = await deps.suppliers.record(answer)
        await deps.publish_outbox([outbox_entry(SUPPLIERS_EVENTS, answer)])


def change(
    before: Order | None,
    events: list[OrderEvent],
    deadlines: list[DeadlineRequest],
    cause: Message,
    now: datetime,
    after: Order | None = None,
) -> Change:
    """The stored form of a decision: events, the new index, what to publish; `after`
    the state the decision reached (a created duplicate's is folded here)."""
    after = after or fold(events, before)
    assert after is not None, "an accepted decision has events"
    timer_commands = [timer_command(d, cause, i, now, ORDERING) for i, d in enumerate(deadlines)]
    return Change(
        state=ORDERS.dump(after),
        events=[e.model_dump(mode="json") for e in events],
        outbox=[outbox_entry(ORDERS_EVENTS, e) for e in events]
        + [outbox_entry(TIMERS_COMMANDS, c) for c in timer_commands],
        index=index_fields(after, now),
    )


def _own(deadlines: list[DeadlineRequest], order_id: uuid.UUID) -> list[DeadlineRequest]:
    return [d for d in deadlines if d.order_id == order_id]


def invalid_command(command: InvalidCommand) -> OrderCommandRejected:
    """X-13: the answer to a command whose content is invalid (its order id must read)."""
    fields = command.answer_fields(ORDERING) | {"order_id": command.body.get("order_id")}
    return OrderCommandRejected.model_validate(fields)


def invalid_supplier_command(command: InvalidCommand) -> SupplierCommandRejected:
    """X-13: the answer to an invalid supplier command (its supplier id must read)."""
    fields = command.answer_fields(ORDERING) | {"supplier_id": command.body.get("supplier_id")}
    return SupplierCommandRejected.model_validate(fields)
