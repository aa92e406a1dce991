"""Stateful fuzzing of invoicing's domain (issue 20): one managed order's ledger, its
planned invoices moved by their deadlines (current, twice, and late), the member's change
requests, the operator's revisions and declines, payments, ordering's cancellation
requests, refusals and cancellation, and time passing; numbers taken as the handler takes
them. After every step:

- X-07: every command gets events or a rejection with a machine-readable reason, never
  an exception and never silence;
- X-01: every invoice's new status is one the table allows for that trigger;
- X-09: the same message decided again on the same ledger gives the same answer and ids;
- X-10: an invoice not in one of the table's ends has a way out;
- X-02: a deadline still pending at the timer service is one the table handles in its
  invoice's status (or finds already handled: a hold, M-11).

Budget: tests/fuzz/stateful.py (`make test` short and derandomized, `make fuzz` longer).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from contracts.envelope import Command, Party, Role
from contracts.invoicing import (
    DeclineInvoiceChanges,
    InvoiceLine,
    InvoiceStatus,
    InvoicingCommandRejected,
    InvoicingRejectionReason,
    RecordInvoicePayment,
    RequestInvoiceChanges,
    ReviseInvoiceDraft,
)
from contracts.orders import (
    CancellationRefused,
    CancellationRequested,
    Flow,
    OrderStatus,
    PlannedInvoice,
)
from invoicing.domain import TABLE, on_command
from servicekit.tables import deadline_trigger
from tests.support.machines import DomainMachine, machine_test, ways_out
from tests.unit.invoicing.invoicing_kit import (
    CLIENT,
    MEMBER,
    OPERATOR,
    ORDER_ID,
    PAYMENTS,
    Scenario,
    active_scenario,
    command,
    envelope,
    eur,
    invoice_id,
    order_cancelled,
)

REASONS = {r.value for r in InvoicingRejectionReason}
PLANNED = [
    PlannedInvoice(invoice_date=date(2025, 3, 20), amount=eur("100.00")),
    PlannedInvoice(invoice_date=date(2025, 3, 21), amount=eur("200.10")),
    PlannedInvoice(invoice_date=date(2025, 4, 2), amount=eur("0.99")),
]
INVOICES = st.integers(min_value=1, max_value=len(PLANNED))
#: Mostly whom the table names, sometimes someone else.
ACTORS = [MEMBER.party, OPERATOR, PAYMENTS, CLIENT.party, Party(id="member-2", role=Role.MEMBER)]


class InvoiceLifecycle(DomainMachine):
    """One managed order's planned invoices."""

    def __init__(self) -> None:
        super().__init__()
        self.sc: Scenario = Scenario()

    @initialize()
    def the_order_is_active(self) -> None:
        self.sc = active_scenario(PLANNED)

    def statuses(self) -> dict[str, InvoiceStatus]:
        return {i.invoice_id: i.status for i in self.sc.ledger.invoices}

    # -- commands ------------------------------------------------------------------------

    @rule(n=INVOICES, actor=st.just(MEMBER.party) | st.sampled_from(ACTORS))
    def changes_are_requested(self, n: int, actor: Party) -> None:
        self._send(command(RequestInvoiceChanges, actor, invoice_id=invoice_id(n), message="m"))

    @rule(
        n=INVOICES,
        cents=st.integers(min_value=0, max_value=10**7),
        actor=st.just(OPERATOR) | st.sampled_from(ACTORS),
    )
    def the_draft_is_revised(self, n: int, cents: int, actor: Party) -> None:
        amount = Decimal(cents).scaleb(-2)
        line = InvoiceLine(description="revised", unit_price=amount, amount=amount)
        fields = {"invoice_id": invoice_id(n), "lines": [line], "total": eur(str(amount))}
        self._send(command(ReviseInvoiceDraft, actor, **fields))

    @rule(n=INVOICES, actor=st.just(OPERATOR) | st.sampled_from(ACTORS))
    def the_changes_are_declined(self, n: int, actor: Party) -> None:
        self._send(command(DeclineInvoiceChanges, actor, invoice_id=invoice_id(n), reason="no"))

    @rule(
        n=INVOICES,
        payment_id=st.sampled_from(["p1", "p2", "p3"]),
        amount=st.sampled_from(["50.00", "100.00", "0.99", "500.00"]),
        actor=st.just(PAYMENTS) | st.sampled_from(ACTORS),
    )
    def a_payment_is_recorded(self, n: int, payment_id: str, amount: str, actor: Party) -> None:
        fields = {"invoice_id": invoice_id(n), "payment_id": payment_id, "amount": eur(amount)}
        self._send(command(RecordInvoicePayment, actor, **fields))

    # -- ordering's events ---------------------------------------------------------------

    @rule(refused=st.booleans())
    def a_cancellation_is_requested_or_refused(self, refused: bool) -> None:
        common = {**envelope(), "order_id": ORDER_ID, "flow": Flow.MANAGED}
        if refused:
            message: Any = CancellationRefused(**common, status=OrderStatus.ACTIVE, reason="No")
        else:
            message = CancellationRequested(
                **common, status=OrderStatus.CANCELLATION_REQUESTED, reason="Closing down"
            )
        self._event(message)

    @rule(dice=st.integers(0, 3))
    def the_order_is_cancelled(self, dice: int) -> None:
        if dice == 0:  # a quarter as often: a cancelled order's invoices go nowhere else
            self._event(order_cancelled())

    # -- time and deadlines --------------------------------------------------------------

    @rule(hours=st.sampled_from([1, 12, 48, 24 * 5]))
    def time_passes(self, hours: int) -> None:
        """As on the real clock, the timer service fires what falls due meanwhile."""
        until = self.sc.now + timedelta(hours=hours)
        while self.sc.deadlines and min(r.due_at for r in self.sc.deadlines.values()) <= until:
            self._fire_next(0, twice=False)
        self.sc.now = max(self.sc.now, until)

    @precondition(lambda self: bool(self.sc.deadlines))
    @rule(data=st.data(), twice=st.booleans())
    def the_next_deadline_falls_due(self, data: st.DataObject, twice: bool) -> None:
        self._fire_next(data.draw(st.integers(0, 5), label="of equals"), twice=twice)

    def _fire_next(self, pick: int, *, twice: bool) -> None:
        # The timer service fires in due order: the earliest pending one (of equals, any).
        first = min(r.due_at for r in self.sc.deadlines.values())
        due = sorted(i for i, r in self.sc.deadlines.items() if r.due_at == first)
        deadline_id = due[pick % len(due)]
        request = self.sc.deadlines[deadline_id]
        self.steps.append(f"fire {deadline_id}")
        before = self.statuses()
        self.sc.fire(deadline_id)
        self._check_moves(before, deadline_trigger(request.kind))
        if twice:  # the timer's event delivered again changes nothing more
            again = self.statuses()
            published = len(self.sc.published)
            self.sc.fire_again(request)
            assert self.statuses() == again and len(self.sc.published) == published

    # -- what must hold after every step -----------------------------------------------

    @invariant()
    def every_invoice_is_in_one_of_the_statuses(self) -> None:
        for status in self.statuses().values():
            assert status in TABLE.statuses

    @invariant()
    def a_pending_deadline_is_one_its_invoice_can_use(self) -> None:
        for deadline_id, request in self.sc.deadlines.items():
            invoice = self.sc.ledger.invoice(request.payload.get("invoice_id", ""))
            assert invoice is not None, f"{deadline_id} for no invoice"
            row = TABLE.row(invoice.status, deadline_trigger(request.kind))
            assert row is not None and row.primary, (
                f"X-02: {deadline_id} pending while the invoice is {invoice.status} "
                f"after {self.steps}"
            )

    @invariant()
    def an_invoice_not_ended_has_a_way_out(self) -> None:
        pending = {
            (r.payload.get("invoice_id"), deadline_trigger(r.kind))
            for r in self.sc.deadlines.values()
        }
        for invoice_id_, status in self.statuses().items():
            if status in TABLE.ends:
                continue
            waits = {trigger for i, trigger in pending if i == invoice_id_}
            exits = ways_out(TABLE, status, waits.__contains__)
            assert exits, f"X-10: {invoice_id_} stuck in {status} after {self.steps}"

    # -- how each message is decided ---------------------------------------------------

    def _send(self, message: Command) -> None:
        self.steps.append(f"{message.type} by {message.actor.id}")
        ledger = self.sc.ledger
        decision = self.decided(
            lambda: on_command(ledger, message, self.sc.now, self.sc.ctx), message.type
        )
        self.answered(decision, message, InvoicingCommandRejected, REASONS)
        before = self.statuses()
        self.sc.apply(decision)
        self._check_moves(before, message.type)

    def _event(self, message: Any) -> None:
        self.steps.append(message.type)
        before = self.statuses()
        self.sc.order(message)
        self._check_moves(before, message.type)

    def _check_moves(self, before: dict[str, InvoiceStatus], trigger: str) -> None:
        for each, status in self.statuses().items():
            source = before.get(each)
            if source != status:
                self.moved(TABLE, source, trigger, status, each)
            event(f"invoice: {status.value}")


# Found by the machine while it still fired timers out of due order or let time pass
# without them (a timer's event in flight while the ledger moves on): the stale timer is
# left at the timer service, and when it fires it changes nothing.


def test_X02_a_draft_deadline_firing_after_its_invoice_was_issued_changes_nothing() -> None:
    sc = active_scenario(PLANNED)
    draft = sc.deadlines[f"{invoice_id(1)}:draft"]
    sc.fire(f"{invoice_id(1)}:issue")
    assert sc.invoice(1).status is InvoiceStatus.ISSUED
    assert f"{invoice_id(1)}:draft" in sc.deadlines, "not cancelled: left to X-02"
    published = len(sc.published)
    decision = sc.fire(draft.deadline_id)
    assert decision.events == [] and len(sc.published) == published
    assert sc.invoice(1).status is InvoiceStatus.ISSUED


def test_X02_an_issue_deadline_in_flight_while_a_late_revision_issues_changes_nothing() -> None:
    sc = active_scenario(PLANNED)
    sc.fire(f"{invoice_id(1)}:draft")
    sc.do(command(RequestInvoiceChanges, MEMBER.party, invoice_id=invoice_id(1), message="m"))
    issue = sc.deadlines[f"{invoice_id(1)}:issue"]
    sc.now = issue.due_at + timedelta(hours=1)  # its expiry not yet delivered
    line = InvoiceLine(description="revised", unit_price=Decimal("90"), amount=Decimal("90"))
    fields = {"invoice_id": invoice_id(1), "lines": [line], "total": eur("90.00")}
    sc.do(command(ReviseInvoiceDraft, OPERATOR, **fields))
    assert sc.invoice(1).status is InvoiceStatus.ISSUED
    decision = sc.fire(issue.deadline_id)
    assert decision.events == []
    assert [e.type for e in sc.published].count("InvoiceIssued") == 1


test_an_order_ledgers_invoices_keep_their_table_through_any_valid_history = machine_test(
    InvoiceLifecycle
)
