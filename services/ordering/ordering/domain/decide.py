"""`decide` and `on_deadline`: from an order and what happened to it, a `Decision`.

    command ─► exists? ─► a party or staff? ─► (status, command) in the table?
            ─► role allowed there? ─► the flow's handler: events or a rejection
            ─► fold the events; the status reached must be one of the table's targets
    deadline ─► still open for this order? ─► (status, kind) in the table? ─► events

Rule X-01: only these functions produce an order's status changes. Pure: `now`, ids and
every snapshot come in as arguments.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from contracts.envelope import SYSTEM, Party
from contracts.orders import (
    CreateOrder,
    Flow,
    OrderCommand,
    OrderCommandRejected,
    OrderEvent,
    OrderStatus,
    RejectionReason,
)
from ordering.domain.authority import may_act_on
from ordering.domain.context import (
    CancelDeadline,
    DeadlineFired,
    Decision,
    DecisionContext,
    Outcome,
    Rejection,
    Step,
    message_id,
    refuse,
)
from ordering.domain.deadlines import requests
from ordering.domain.evolve import evolve
from ordering.domain.flows import TABLES
from ordering.domain.model import Order
from ordering.domain.table import TableError
from servicekit.decisions import rejection_fields

R = RejectionReason


def decide(
    order: Order | None, command: OrderCommand, now: datetime, ctx: DecisionContext
) -> Decision:
    """What `command` does to `order` at `now` (Rules X-01, X-07).

    Refusals, in this order: `already_exists` / `unknown_order`; `not_authorized` for
    an actor who is neither a party of the order nor staff of its flow;
    `not_allowed_in_status` for a pair the table lacks; `not_authorized` for a role the
    table does not name there; then the handler's own guards.
    """
    if isinstance(command, CreateOrder):
        return _create(order, command, now, ctx)
    if order is None:
        return _refused(command, now, ctx, refuse(R.UNKNOWN_ORDER, "there is no such order"))
    if command.order_id != order.order_id:
        return _refused(command, now, ctx, refuse(R.INVALID, "the command is for another order"))
    actor = command.actor
    if not may_act_on(order, actor):
        return _refused(
            command, now, ctx, refuse(R.NOT_AUTHORIZED, "the actor is not a party of this order")
        )
    transition = TABLES[order.flow].transition(order.status, command.type)
    if transition is None:
        message = f"{command.type} is not possible while the order is {order.status.value}"
        return _refused(command, now, ctx, refuse(R.NOT_ALLOWED_IN_STATUS, message))
    if actor.role not in transition.roles:
        message = f"a {actor.role.value} cannot {command.type} here"
        return _refused(command, now, ctx, refuse(R.NOT_AUTHORIZED, message))
    step = _step(order.order_id, order.flow, now, ctx, actor, command)
    outcome: Outcome = transition.handle(order, command, step)
    if isinstance(outcome, Rejection):
        return _refused(command, now, ctx, outcome)
    return _accepted(order, order.order_id, outcome, transition.targets)


def on_deadline(
    order: Order | None, fired: DeadlineFired, now: datetime, ctx: DecisionContext
) -> Decision:
    """What a fired deadline does (Rule X-02): nothing at all when the window it closes
    no longer applies (unknown order, a stale id, a status that moved on)."""
    if order is None or fired.order_id != order.order_id:
        return Decision()
    deadline = next(
        (d for d in order.deadlines if d.open and d.id(order.order_id) == fired.deadline_id),
        None,
    )
    if deadline is None:
        return Decision()
    timeout = TABLES[order.flow].timeout(order.status, deadline.kind)
    if timeout is None:
        return Decision()
    step = Step(
        order_id=order.order_id,
        flow=order.flow,
        now=now,
        ctx=ctx,
        actor=SYSTEM,
        cause=fired.message_id,
        correlation=fired.correlation_id or fired.message_id,
    )
    events = timeout.handle(order, fired, step)
    if not events:
        return Decision()
    decision = _accepted(order, order.order_id, events, timeout.targets)
    # It has fired: cancelling it would only be noise for the timer service.
    still_needed = [
        r
        for r in decision.deadlines
        if not (isinstance(r, CancelDeadline) and r.deadline_id == fired.deadline_id)
    ]
    return replace(decision, deadlines=still_needed)


def _create(
    order: Order | None, command: CreateOrder, now: datetime, ctx: DecisionContext
) -> Decision:
    table = TABLES[Flow(command.terms.flow)]
    if order is not None:
        return _refused(command, now, ctx, refuse(R.ALREADY_EXISTS, "the order exists already"))
    if command.actor.role not in table.creation.roles:
        message = f"a {command.actor.role.value} cannot create a {table.flow.value} order"
        return _refused(command, now, ctx, refuse(R.NOT_AUTHORIZED, message))
    step = _step(command.order_id, table.flow, now, ctx, command.actor, command)
    outcome = table.creation.handle(command, step)
    if isinstance(outcome, Rejection):
        return _refused(command, now, ctx, outcome)
    return _accepted(None, command.order_id, outcome, frozenset({table.creation.initial}))


def _accepted(
    before: Order | None,
    order_id: uuid.UUID,
    events: list[OrderEvent],
    targets: Iterable[OrderStatus],
) -> Decision:
    decision = Decision(events=list(events))
    for each_id, its_events in decision.by_order().items():
        start = before if each_id == order_id else None
        after = start
        for event in its_events:
            after = evolve(after, event)
        assert after is not None
        allowed = set(targets) if each_id == order_id else {TABLES[after.flow].creation.initial}
        if after.status not in allowed:
            raise TableError(f"{after.flow}: {after.status} is not a target of {allowed}")
        decision.deadlines.extend(requests(start, after))
    return decision


def _refused(
    command: OrderCommand, now: datetime, ctx: DecisionContext, rejection: Rejection
) -> Decision:
    id_ = message_id(ctx, command.message_id, 0)
    answer = OrderCommandRejected(
        **rejection_fields(command, rejection, message_id=id_, now=now, actor=SYSTEM),
        order_id=command.order_id,
    )
    return Decision(rejection=rejection, rejection_event=answer)


def _step(
    order_id: uuid.UUID,
    flow: Flow,
    now: datetime,
    ctx: DecisionContext,
    actor: Party,
    command: OrderCommand,
) -> Step:
    return Step(
        order_id=order_id,
        flow=flow,
        now=now,
        ctx=ctx,
        actor=actor,
        cause=command.message_id,
        correlation=command.correlation_id,
    )
