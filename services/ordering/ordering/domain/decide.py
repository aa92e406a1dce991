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
from datetime import datetime

from contracts.envelope import SYSTEM
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
    by_order,
    refuse,
)
from ordering.domain.deadlines import requests
from ordering.domain.evolve import evolve
from ordering.domain.flows import TABLES, creation
from ordering.domain.model import Order
from servicekit.deadlines import fired_window
from servicekit.decisions import rejected, step_for
from servicekit.tables import Row, TableError, deadline_trigger

R = RejectionReason
S = OrderStatus


def decide(
    order: Order | None, command: OrderCommand, now: datetime, ctx: DecisionContext
) -> Decision:
    """What `command` does to `order` at `now` (Rules X-01, X-07).

    Refusals, in this order: `already_exists` / `unknown_order`; `not_authorized` for
    an actor who is neither a party of the order nor staff of its flow;
    `not_allowed_in_status` for a pair the table lacks; `not_authorized` for a role the
    table does not name there; then the handler's own guards.
    """
    found = _creation(order, command) if isinstance(command, CreateOrder) else _row(order, command)
    if isinstance(found, Rejection):
        return _refused(command, now, ctx, found)
    flow, row = found
    assert row.handle is not None, "only rows that decide are found"
    subject = {"order_id": command.order_id, "flow": flow}
    step = step_for(
        command, now=now, actor=command.actor, ctx=ctx, subject=subject, new_id=ctx.new_id
    )
    outcome: Outcome = row.handle(order, command, step)
    if isinstance(outcome, Rejection):
        return _refused(command, now, ctx, outcome)
    return _accepted(order, command.order_id, outcome, row.targets)


def on_deadline(
    order: Order | None, fired: DeadlineFired, now: datetime, ctx: DecisionContext
) -> Decision:
    """What a fired deadline does (Rule X-02): nothing at all when the window it closes
    no longer applies (unknown order, a stale id, a status that moved on)."""
    deadline = None if order is None else fired_window(order.deadlines, order.order_id, fired)
    if order is None or deadline is None:
        return Decision()
    row = TABLES[order.flow].row(order.status, deadline_trigger(deadline.kind))
    if row is None or row.handle is None:
        return Decision()
    subject = {"order_id": order.order_id, "flow": order.flow}
    step = step_for(fired, now=now, actor=SYSTEM, ctx=ctx, subject=subject, new_id=ctx.new_id)
    events: list[OrderEvent] = row.handle(order, fired, step)
    if not events:
        return Decision()
    decision = _accepted(order, order.order_id, events, row.targets)
    # It has fired: cancelling it would only be noise for the timer service.
    decision.deadlines = [
        r
        for r in decision.deadlines
        if not (isinstance(r, CancelDeadline) and r.deadline_id == fired.deadline_id)
    ]
    return decision


def _creation(order: Order | None, command: CreateOrder) -> tuple[Flow, Row[S]] | Rejection:
    flow = Flow(command.terms.flow)
    row = creation(flow)
    if order is not None:
        return refuse(R.ALREADY_EXISTS, "the order exists already")
    if command.actor.role not in row.roles:
        return refuse(
            R.NOT_AUTHORIZED, f"a {command.actor.role.value} cannot create a {flow.value} order"
        )
    return flow, row


def _row(order: Order | None, command: OrderCommand) -> tuple[Flow, Row[S]] | Rejection:
    if order is None:
        return refuse(R.UNKNOWN_ORDER, "there is no such order")
    if command.order_id != order.order_id:
        return refuse(R.INVALID, "the command is for another order")
    actor = command.actor
    if not may_act_on(order, actor):
        return refuse(R.NOT_AUTHORIZED, "the actor is not a party of this order")
    row = TABLES[order.flow].row(order.status, command.type)
    if row is None or row.handle is None:
        message = f"{command.type} is not possible while the order is {order.status.value}"
        return refuse(R.NOT_ALLOWED_IN_STATUS, message)
    if actor.role not in row.roles:
        return refuse(R.NOT_AUTHORIZED, f"a {actor.role.value} cannot {command.type} here")
    return order.flow, row


def _accepted(
    before: Order | None,
    order_id: uuid.UUID,
    events: list[OrderEvent],
    targets: frozenset[S | None],
) -> Decision:
    """The decision of accepted `events`: each order they concern folded, held to its
    table (the decided order to the row's `targets`, a created one to its creation row),
    and the deadline requests each change needs."""
    decision = Decision(events=list(events), before=before)
    for each_id, its_events in by_order(events).items():
        start = before if each_id == order_id else None
        after = start
        for event in its_events:
            after = evolve(after, event)
        assert after is not None
        allowed = targets if each_id == order_id else creation(after.flow).targets
        if after.status not in allowed:
            raise TableError(f"{after.flow}: {after.status} is not a target of {set(allowed)}")
        decision.deadlines.extend(requests(start, after))
        if each_id == order_id:
            decision.after = after
    return decision


def _refused(
    command: OrderCommand, now: datetime, ctx: DecisionContext, rejection: Rejection
) -> Decision:
    answer, keys = OrderCommandRejected, {"order_id": command.order_id}
    return rejected(answer, command, rejection, now=now, actor=SYSTEM, new_id=ctx.new_id, **keys)
