"""Stateful fuzzing of ordering's domain (issue 20): random *valid* command sequences,
deadlines falling due (current and stale) and time passing drive one order of each flow
through its statuses, and after every step the rules hold:

- X-07: every command gets events or a rejection with a machine-readable reason, never
  an exception and never silence;
- X-01: the status reached is one the table's row allows;
- X-09: the same message decided again on the same state gives the same answer, ids and
  deadlines (the handler's dedupe relies on it: a redelivery re-publishes the duplicate);
- X-10: an order not in one of its table's ends has a way out (a command someone may
  send, or a deadline it waits for);
- X-02: the open deadlines are exactly those the status needs, and each is one its table
  handles in that status.

Budget: tests/fuzz/stateful.py (`make test` short and derandomized, `make fuzz` longer).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from contracts.envelope import Party, derived_id
from contracts.orders import (
    ORDER_COMMANDS,
    CreateOrder,
    Flow,
    OrderCommandRejected,
    OrderStatus,
    RejectionReason,
)
from ordering.domain import TABLES, DeadlineFired, Decision, Order, decide, on_deadline
from ordering.domain.deadlines import required
from ordering.domain.model import DeadlineKind
from servicekit.tables import Via, deadline_trigger
from tests.support.machines import DomainMachine, machine_test, ways_out
from tests.unit.ordering.ordering_kit import (
    AGENT,
    CLIENT,
    CUSTOMER,
    MEMBER,
    OUTSIDERS,
    PARTIES,
    SUPPLIER,
    Scenario,
    account_terms,
    command,
    managed_terms,
    postpaid_terms,
)
from tests.unit.ordering.ordering_states import sample

REASONS = {r.value for r in RejectionReason}
HOURS = st.sampled_from([0, 1, 5, 24, 30, 80, 200])


class OrderLifecycle(DomainMachine):
    """One order, moved by the table's own commands (mostly by a party who may send
    them), its deadlines and the clock."""

    def __init__(self) -> None:
        super().__init__()
        self.sc = Scenario()

    @initialize(flow=st.sampled_from(list(Flow)), variant=st.booleans())
    def create(self, flow: Flow, variant: bool) -> None:
        self._create(flow, variant)

    @precondition(lambda self: self.order.status in TABLES[self.order.flow].ends)
    @rule(flow=st.sampled_from(list(Flow)), variant=st.booleans())
    def once_it_ended_another_order_starts(self, flow: Flow, variant: bool) -> None:
        self.sc, self.steps = Scenario(), []  # at T0: its terms lie ahead
        self._create(flow, variant)

    def _create(self, flow: Flow, variant: bool) -> None:
        if flow is Flow.MANAGED:
            terms: Any = managed_terms(skip_client_confirmation=variant)
            fields: dict[str, Any] = {"parties": [MEMBER, CLIENT], "terms": terms}
            actor = MEMBER.party
        elif flow is Flow.POSTPAID:
            fields = {
                "parties": [SUPPLIER, CUSTOMER],
                "terms": postpaid_terms(payment_stage=variant),
            }
            actor = CUSTOMER.party
        else:
            fields, actor = {"parties": [AGENT], "terms": account_terms()}, AGENT.party
        self._send(command(CreateOrder, actor, **fields))
        assert self.sc.order is not None, "a plausible CreateOrder is accepted"

    @property
    def order(self) -> Order:
        return self.sc.current

    # -- moves --------------------------------------------------------------------------

    @rule(data=st.data())
    def send_a_command_the_table_allows_here(self, data: st.DataObject) -> None:
        table = TABLES[self.order.flow]
        rows = [
            r
            for r in table.rows
            if r.via is Via.COMMAND and r.source is self.order.status and r.primary
        ]
        if not rows:
            return
        # Mostly onwards: a walk that ends at its first cancel sees little of the flow.
        onwards = [r for r in rows if r.targets - {r.source} - table.ends]
        choice = st.sampled_from(rows)
        row = data.draw(st.sampled_from(onwards) | choice if onwards else choice, label="row")
        fitting = [p for p in PARTIES[self.order.flow] if p.role in row.roles]
        pool = [*PARTIES[self.order.flow], *OUTSIDERS]
        actor = data.draw(
            st.sampled_from(fitting) | st.sampled_from(pool) if fitting else st.sampled_from(pool),
            label="actor",
        )
        self._command(row.trigger, actor)

    @rule(name=st.sampled_from([n for n in ORDER_COMMANDS.names() if n != "CreateOrder"]))
    def send_any_command(self, name: str) -> None:
        fitting = [p for p in PARTIES[self.order.flow]]
        self._command(name, fitting[len(name) % len(fitting)])

    @rule(hours=HOURS)
    def time_passes(self, hours: int) -> None:
        self.sc.later(timedelta(hours=hours))

    @precondition(lambda self: any(d.open for d in self.order.deadlines))
    @rule(data=st.data())
    def an_open_deadline_falls_due(self, data: st.DataObject) -> None:
        deadline = data.draw(st.sampled_from([d for d in self.order.deadlines if d.open]))
        fired = self._fired(deadline.id(self.order.order_id), deadline.kind, deadline.due_at)
        self.steps.append(f"fire {deadline.kind.value}")
        self._fire(fired)

    @precondition(lambda self: any(not d.open for d in self.order.deadlines))
    @rule(data=st.data())
    def a_closed_deadline_falls_due_late(self, data: st.DataObject) -> None:
        deadline = data.draw(st.sampled_from([d for d in self.order.deadlines if not d.open]))
        fired = self._fired(deadline.id(self.order.order_id), deadline.kind, deadline.due_at)
        before = self.order
        decision = on_deadline(before, fired, max(self.sc.now, deadline.due_at), self.sc.ctx)
        assert decision.events == [] and decision.deadlines == [], "X-02: a closed window"

    # -- what must hold after every step -----------------------------------------------

    @invariant()
    def the_status_is_one_of_the_flow(self) -> None:
        if self.sc.order is not None:
            assert self.order.status in TABLES[self.order.flow].statuses

    @invariant()
    def the_open_deadlines_are_those_the_status_uses(self) -> None:
        if self.sc.order is None:
            return
        order, table = self.order, TABLES[self.order.flow]
        open_ = {d.kind: d.due_at for d in order.deadlines if d.open}
        assert open_ == required(order), self.steps
        for kind in open_:
            row = table.row(order.status, deadline_trigger(kind))
            assert row is not None and row.primary, f"{kind} open in {order.status}"
        if order.status in table.ends:
            assert open_ == {}

    @invariant()
    def an_order_not_ended_has_a_way_out(self) -> None:
        if self.sc.order is None:
            return
        order, table = self.order, TABLES[self.order.flow]
        if order.status in table.ends:
            return
        open_kinds = {deadline_trigger(d.kind) for d in order.deadlines if d.open}
        exits = ways_out(table, order.status, open_kinds.__contains__)
        assert exits, f"X-10: {order.flow} stuck in {order.status} after {self.steps}"

    # -- how each message is decided ---------------------------------------------------

    def _command(self, name: str, actor: Party) -> None:
        fields, at = sample(name, self.sc)
        if at is not None:
            self.sc.at(max(self.sc.now, at))
        self._send(command(ORDER_COMMANDS.classes[name], actor, **fields))

    def _send(self, message: Any) -> None:
        self.steps.append(f"{message.type} by {message.actor.role.value}")
        before = self.sc.order
        # As the handler does it: a new order's id derives from the command's (M-15).
        ctx = replace(self.sc.ctx, new_order_id=lambda: derived_id(message.message_id, 0, "order"))
        decision = self.decided(lambda: decide(before, message, self.sc.now, ctx), message.type)
        if self.answered(decision, message, OrderCommandRejected, REASONS):
            return
        self._check_move(before, message.type, decision, Via.COMMAND)
        self.sc._fold(decision)
        event(f"{self.order.flow.value}: {self.order.status.value}")

    def _fired(self, deadline_id: str, kind: DeadlineKind, due_at: datetime) -> DeadlineFired:
        return DeadlineFired(deadline_id, kind.value, self.order.order_id, due_at, uuid.uuid4())

    def _fire(self, fired: DeadlineFired) -> None:
        before = self.order
        self.sc.now = max(self.sc.now, fired.due_at)
        decision = self.decided(
            lambda: on_deadline(before, fired, self.sc.now, self.sc.ctx), fired.kind
        )
        assert decision.rejection is None
        if decision.events:
            self._check_move(before, deadline_trigger(fired.kind), decision, Via.DEADLINE)
            self.sc._fold(decision)
            event(f"{self.order.flow.value}: {self.order.status.value}")

    def _check_move(self, before: Order | None, trigger: str, decision: Decision, via: Via) -> None:
        after = decision.after
        assert after is not None
        source: OrderStatus | None = before.status if before else None
        self.moved(TABLES[after.flow], source, trigger, after.status, "the order")


test_an_order_of_any_flow_keeps_its_table_through_any_valid_history = machine_test(OrderLifecycle)
