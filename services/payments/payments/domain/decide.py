"""`decide`, `on_order_event` and `on_deadline`: from a ledger and what happened, a
`Decision`.

    command ─► the order known? ─► its supplier/customer, or staff? ─► the entity's
            (status, command) in its table? ─► role allowed there? ─► the row's handler
    ordering's event ─► `track` the order ─► a row for it? ─► the row's handler
    deadline ─► still open on this ledger? ─► a row for it? ─► the row's handler
    then ─► fold the events; every entity's new status must be one its table allows

Pure: `now`, ids and the policy come in as arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from contracts.envelope import Message, Party
from contracts.orders import MarkOrderPaid, OrderEvent
from contracts.orders.commands import MarkOrderUnpaid
from contracts.payments import (
    PaymentCommand,
    PaymentCommandRejected,
    PaymentEvent,
    PaymentRejectionReason,
)
from payments.domain.context import (
    PAYMENTS,
    STAFF,
    DeadlineFired,
    Decision,
    DecisionContext,
    Effect,
    Rejection,
    new_step,
    refuse,
)
from payments.domain.deadlines import requests
from payments.domain.evolve import fold, track
from payments.domain.model import Ledger
from payments.domain.tables import PRIMARY, TABLES, status_of
from servicekit.deadlines import fired_window
from servicekit.decisions import rejected
from servicekit.tables import TableError, deadline_trigger

R = PaymentRejectionReason


def may_act_on(ledger: Ledger, actor: Party) -> bool:
    """The order's own supplier or customer, or staff; the table then checks the role."""
    return actor.role in STAFF or ledger.is_party(actor)


def decide(
    ledger: Ledger | None, command: PaymentCommand, now: datetime, ctx: DecisionContext
) -> Decision:
    """What `command` does to the order's ledger at `now` (Rule X-07).

    Refusals, in this order: `unknown_order`; `not_authorized` for an actor who is
    neither a party of the order nor staff; the entity's `missing` reason when there is
    none of it, or `not_allowed_in_status`; `not_authorized` for a role the table does
    not name there; then the handler's own guards.
    """
    if ledger is None:
        return _refused(command, now, ctx, refuse(R.UNKNOWN_ORDER, "payments knows no such order"))
    entity = PRIMARY[command.type]
    table = TABLES[entity]
    if not (command.actor.role in table.staff or ledger.is_party(command.actor)):
        message = "the actor is not a party of this order"
        return _refused(command, now, ctx, refuse(R.NOT_AUTHORIZED, message))
    status = status_of(ledger, entity)
    row = table.row(status, command.type)
    if row is None:
        if status is None:
            missing = table.missing or R.NOT_ALLOWED_IN_STATUS
            rejection = refuse(missing, f"the order has no {entity.value}")
        else:
            message = f"{command.type} is not possible while the {entity.value} is {status.value}"
            rejection = refuse(R.NOT_ALLOWED_IN_STATUS, message)
        return _refused(command, now, ctx, rejection)
    if command.actor.role not in row.roles:
        message = f"a {command.actor.role.value} cannot {command.type}"
        return _refused(command, now, ctx, refuse(R.NOT_AUTHORIZED, message))
    assert row.handle is not None, "a command's row has a handler"
    outcome = row.handle(ledger, command, new_step(ledger, now, ctx, command.actor, command))
    if isinstance(outcome, Rejection):
        return _refused(command, now, ctx, outcome)
    return _accepted(ledger, ledger, outcome, command.type)


def on_order_event(
    ledger: Ledger | None, event: OrderEvent, now: datetime, ctx: DecisionContext
) -> Decision:
    """What ordering's `event` means for the order's money (Rules P-11, P-14, P-15).

    Every event of a post-paid order updates what payments knows of it; the execution's
    confirmation opens the payment request, a customer's cancellation in progress may
    cost a fee. Events of other flows, or of an order never seen created, change nothing.
    """
    tracked = track(ledger, event)
    if tracked is None:
        return Decision()
    entity = PRIMARY.get(event.type)
    row = None if entity is None else TABLES[entity].row(status_of(tracked, entity), event.type)
    if row is None or row.handle is None:
        return Decision(before=ledger, after=tracked)
    outcome = row.handle(tracked, event, new_step(tracked, now, ctx, PAYMENTS, event))
    if isinstance(outcome, Rejection):  # an event is a fact: nothing to answer
        return Decision(before=ledger, after=tracked)
    return _accepted(ledger, tracked, outcome, event.type)


def on_deadline(
    ledger: Ledger | None, fired: DeadlineFired, now: datetime, ctx: DecisionContext
) -> Decision:
    """What a fired timer does (Rule X-02): nothing at all when it no longer applies
    (unknown order, a stale id, an entity that moved on)."""
    deadline = None if ledger is None else fired_window(ledger.deadlines, ledger.order_id, fired)
    if ledger is None or deadline is None:
        return Decision()
    trigger = deadline_trigger(deadline.kind)
    entity = PRIMARY[trigger]
    row = TABLES[entity].row(status_of(ledger, entity), trigger)
    if row is None or row.handle is None:
        return Decision()
    outcome = row.handle(ledger, fired, new_step(ledger, now, ctx, PAYMENTS, fired))
    if isinstance(outcome, Rejection) or not outcome:
        return Decision()
    return _accepted(ledger, ledger, outcome, trigger)


def _accepted(
    before: Ledger | None, base: Ledger, effects: Sequence[Effect], trigger: str
) -> Decision:
    """Fold the effects' events and check every entity's move against its table."""
    events = [e for e in effects if isinstance(e, PaymentEvent)]
    commands: list[Message] = [e for e in effects if isinstance(e, MarkOrderPaid | MarkOrderUnpaid)]
    after = fold(events, base)
    primary = PRIMARY[trigger]
    for entity, table in TABLES.items():
        was, now_is = status_of(base, entity), status_of(after, entity)
        if entity is not primary and was == now_is:
            continue
        if not table.allows(was, trigger, now_is):
            raise TableError(f"{entity}: {trigger} may not lead from {was} to {now_is}")
    return Decision(
        before=before,
        after=after,
        events=events,
        commands=commands,
        deadlines=requests(before, after),
    )


def _refused(
    command: PaymentCommand, now: datetime, ctx: DecisionContext, rejection: Rejection
) -> Decision:
    answer, keys = PaymentCommandRejected, {"order_id": command.order_id}
    return rejected(answer, command, rejection, now=now, actor=PAYMENTS, new_id=ctx.new_id, **keys)
