"""Stateful fuzzing of payments' domain (issue 20): one post-paid order's ledger, moved by
ordering's events (created, confirmed, execution confirmed with or without the payment
stage, cancelled by the customer), the gateway's payments (part, whole, too much, the same
`payment_id` again), charge failures, claims opened, withdrawn and written off, payouts
confirmed, timers falling due (current and stale) and time passing. After every step:

- X-07: every command gets events or a rejection with a machine-readable reason, never
  an exception and never silence;
- X-01: every entity's (request, claim, payout) new status is one its table allows for
  that trigger (its own row, or a consequence row);
- X-09: the same message decided again on the same ledger gives the same answer, ids,
  commands and timers;
- X-10: an entity not in one of its table's ends has a way out;
- X-02: the open timers are exactly those the ledger needs, each handled by the table of
  the entity it is about, in that entity's status.

Budget: tests/fuzz/stateful.py (`make test` short and derandomized, `make fuzz` longer).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from contracts.envelope import Party
from contracts.payments import (
    ClaimStatus,
    ConfirmPayoutSent,
    OpenClaim,
    PaymentCommand,
    PaymentCommandRejected,
    PaymentRejectionReason,
    RecordChargeFailure,
    RecordPayment,
    RequestStatus,
    WithdrawClaim,
    WriteOffClaim,
)
from payments.domain import (
    PRIMARY,
    TABLES,
    DeadlineFired,
    Decision,
    Ledger,
    decide,
    on_deadline,
    on_order_event,
    status_of,
)
from payments.domain.deadlines import required
from servicekit.tables import deadline_trigger
from tests.support.machines import DomainMachine, machine_test, ways_out
from tests.unit.payments.payments_kit import (
    CUSTOMER,
    END,
    GATEWAY,
    OPERATOR,
    SUPPLIER,
    Scenario,
    cancelled_by_customer,
    command,
    confirmed,
    created,
    execution_confirmed,
    payment,
)

REASONS = {r.value for r in PaymentRejectionReason}
HOURS = st.sampled_from([0, 1, 5, 24, 30, 80, 200, 800])
AMOUNTS = st.sampled_from(["60.00", "60.00", "20.00", "40.00", "0.01", "75.00"])
#: Mostly whom the table names (the supplier, staff), sometimes anyone.
ACTORS = [
    SUPPLIER.party,
    CUSTOMER.party,
    GATEWAY,
    OPERATOR,
    Party(id="supplier-2", role=SUPPLIER.role),
]


class LedgerLifecycle(DomainMachine):
    """One order's money: its payment request, claim and payout."""

    SAME = (*DomainMachine.SAME, "after")

    def __init__(self) -> None:
        super().__init__()
        self.sc = Scenario()
        self.paid: list[tuple[str, str]] = []

    @initialize()
    def the_order_is_created_and_confirmed(self) -> None:
        self._order(created())
        self._order(confirmed(self.ledger.facts.terms, self.sc.now + timedelta(hours=1)))

    @property
    def ledger(self) -> Ledger:
        return self.sc.current

    # -- ordering's events ---------------------------------------------------------------

    @precondition(lambda self: self.ledger.request is None)
    @rule(payment_stage=st.booleans())
    def the_customer_confirms_the_execution(self, payment_stage: bool) -> None:
        self._order(execution_confirmed(max(self.sc.now, END), payment_stage=payment_stage))

    @precondition(lambda self: self.ledger.request is None)
    @rule()
    def the_customer_cancels(self) -> None:
        self._order(cancelled_by_customer(self.sc.now))

    # -- commands ------------------------------------------------------------------------

    @rule(amount=AMOUNTS, again=st.booleans(), data=st.data())
    def the_gateway_records_a_payment(self, amount: str, again: bool, data: st.DataObject) -> None:
        if again and self.paid:
            payment_id, amount = data.draw(st.sampled_from(self.paid), label="repeated")
        else:
            payment_id = f"gw-{len(self.paid)}"
            self.paid.append((payment_id, amount))
        self._send(RecordPayment, GATEWAY, **payment(amount, payment_id))

    @rule()
    def a_charge_fails(self) -> None:
        request = self.ledger.request
        request_id = request.request_id if request else "req-unknown"
        self._send(RecordChargeFailure, GATEWAY, request_id=request_id, failure_code="declined")

    @rule(actor=st.just(SUPPLIER.party) | st.sampled_from(ACTORS))
    def a_claim_is_opened(self, actor: Party) -> None:
        self._send(OpenClaim, actor, reason="The customer has not paid.")

    @rule(
        actor=st.sampled_from([SUPPLIER.party, OPERATOR]) | st.sampled_from(ACTORS),
        write_off=st.booleans(),
    )
    def the_claim_ends(self, actor: Party, write_off: bool) -> None:
        claim = self.ledger.claim
        claim_id = claim.claim_id if claim else "claim-unknown"
        if write_off:
            self._send(WriteOffClaim, actor, claim_id=claim_id, reason="Uncollectable.")
        else:
            self._send(WithdrawClaim, actor, claim_id=claim_id)

    # The claim's own moves, offered whenever they apply (any actor rarely gets there).
    @precondition(
        lambda self: self.ledger.request is not None
        and self.ledger.request.status is RequestStatus.OVERDUE
        and (self.ledger.claim is None or self.ledger.claim.status is ClaimStatus.WITHDRAWN)
    )
    @rule()
    def the_supplier_claims_the_overdue_payment(self) -> None:
        self._send(OpenClaim, SUPPLIER.party, reason="The customer has not paid.")

    @precondition(
        lambda self: self.ledger.claim is not None
        and self.ledger.claim.status is ClaimStatus.OPENED
    )
    @rule()
    def the_supplier_withdraws_the_claim(self) -> None:
        claim = self.ledger.claim
        assert claim is not None
        self._send(WithdrawClaim, SUPPLIER.party, claim_id=claim.claim_id, reason="Settled.")

    @rule(actor=st.sampled_from([GATEWAY, OPERATOR, SUPPLIER.party]))
    def the_payout_is_sent(self, actor: Party) -> None:
        payout = self.ledger.payout
        payout_id = payout.payout_id if payout else "payout-unknown"
        self._send(ConfirmPayoutSent, actor, payout_id=payout_id, reference="tr-1")

    # -- time and timers -----------------------------------------------------------------

    @rule(hours=HOURS)
    def time_passes(self, hours: int) -> None:
        self.sc.later(timedelta(hours=hours))

    @precondition(lambda self: any(d.open for d in self.ledger.deadlines))
    @rule(data=st.data())
    def an_open_timer_falls_due(self, data: st.DataObject) -> None:
        deadline = data.draw(st.sampled_from([d for d in self.ledger.deadlines if d.open]))
        self.steps.append(f"fire {deadline.kind.value}")
        self.sc.now = max(self.sc.now, deadline.due_at)
        fired = self._fired(deadline)
        before = self.ledger
        decision = self.decided(
            lambda: on_deadline(before, fired, self.sc.now, self.sc.ctx), deadline.kind
        )
        assert decision.rejection is None
        if decision.events:
            self._check_moves(before, deadline_trigger(deadline.kind), decision)
        self._keep(decision)

    @precondition(lambda self: any(not d.open for d in self.ledger.deadlines))
    @rule(data=st.data())
    def a_closed_timer_falls_due_late(self, data: st.DataObject) -> None:
        deadline = data.draw(st.sampled_from([d for d in self.ledger.deadlines if not d.open]))
        decision = on_deadline(self.ledger, self._fired(deadline), self.sc.now, self.sc.ctx)
        assert decision.events == [] and decision.deadlines == [], "X-02: a closed window"

    # -- what must hold after every step -----------------------------------------------

    @invariant()
    def every_entity_is_in_one_of_its_statuses(self) -> None:
        for entity, table in TABLES.items():
            status = status_of(self.ledger, entity)
            assert status is None or status in table.statuses

    @invariant()
    def the_open_timers_are_those_the_ledger_uses(self) -> None:
        open_ = {d.kind: d.due_at for d in self.ledger.deadlines if d.open}
        assert open_ == required(self.ledger), self.steps
        for kind in open_:
            trigger = deadline_trigger(kind)
            entity = PRIMARY[trigger]
            row = TABLES[entity].row(status_of(self.ledger, entity), trigger)
            assert row is not None and row.primary, f"{kind} open, its {entity} cannot use it"

    @invariant()
    def an_entity_not_ended_has_a_way_out(self) -> None:
        open_ = {deadline_trigger(d.kind) for d in self.ledger.deadlines if d.open}
        for entity, table in TABLES.items():
            status = status_of(self.ledger, entity)
            if status is None or status in table.ends:
                continue
            exits = ways_out(table, status, open_.__contains__)
            assert exits, f"X-10: the {entity.value} is stuck in {status} after {self.steps}"

    # -- how each message is decided ---------------------------------------------------

    def _order(self, order_event: Any) -> None:
        self.steps.append(order_event.type)
        self.sc.now = max(self.sc.now, order_event.occurred_at)
        before = self.sc.ledger
        decision = self.decided(
            lambda: on_order_event(before, order_event, self.sc.now, self.sc.ctx), order_event.type
        )
        assert decision.rejection is None
        if decision.events:
            self._check_moves(before, order_event.type, decision)
        self._keep(decision)

    def _send(self, cls: type[PaymentCommand], actor: Party, **fields: Any) -> None:
        message = command(cls, actor, self.sc.now, **fields)
        self.steps.append(f"{message.type} by {actor.id}")
        before = self.ledger
        decision = self.decided(
            lambda: decide(before, message, self.sc.now, self.sc.ctx), message.type
        )
        if self.answered(decision, message, PaymentCommandRejected, REASONS):
            return
        self._check_moves(before, message.type, decision)
        self._keep(decision)

    def _keep(self, decision: Decision) -> None:
        self.sc._keep(decision)
        for entity in TABLES:
            status = status_of(self.ledger, entity)
            if status is not None:
                event(f"{entity.value}: {status.value}")

    def _check_moves(self, before: Ledger | None, trigger: str, decision: Decision) -> None:
        after = decision.after
        assert after is not None
        for entity, table in TABLES.items():
            source = status_of(before, entity) if before else None
            target = status_of(after, entity)
            if source != target:
                self.moved(table, source, trigger, target, f"the {entity.value}")

    def _fired(self, deadline: Any) -> DeadlineFired:
        deadline_id = deadline.id(self.ledger.order_id)
        return DeadlineFired(
            deadline_id, deadline.kind.value, self.ledger.order_id, deadline.due_at, uuid.uuid4()
        )


test_a_ledger_keeps_its_tables_through_any_valid_history = machine_test(LedgerLifecycle)
