"""M-20: while an order's cancellation request is pending, none of its invoices is issued.
A refusal releases them (those past their date are issued at once); an approval cancels
and voids them as M-14 says."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from contracts.invoicing import (
    DeclineInvoiceChanges,
    InvoiceIssued,
    RequestInvoiceChanges,
)
from contracts.orders import CancellationRefused, CancellationRequested, Flow, OrderStatus
from tests.unit.invoicing.invoicing_kit import (
    MEMBER,
    OPERATOR,
    ORDER_ID,
    S,
    Scenario,
    active_scenario,
    command,
    draft_deadline,
    envelope,
    invoice_id,
    issue_deadline,
    order_cancelled,
)

REASON = "The client's project was stopped by their board"


def requested() -> CancellationRequested:
    return CancellationRequested(
        **envelope(MEMBER.party),
        order_id=ORDER_ID,
        flow=Flow.MANAGED,
        status=OrderStatus.CANCELLATION_REQUESTED,
        reason=REASON,
    )


def refused() -> CancellationRefused:
    return CancellationRefused(
        **envelope(OPERATOR),
        order_id=ORDER_ID,
        flow=Flow.MANAGED,
        status=OrderStatus.ACTIVE,
        reason="The contract runs to its end",
    )


def pending_past_the_first_date() -> Scenario:
    """The first invoice's date passes while the cancellation request is pending."""
    sc = active_scenario()
    sc.fire(draft_deadline(1))
    sc.order(requested())
    sc.fire(issue_deadline(1))
    return sc


def issued(sc: Scenario) -> list[InvoiceIssued]:
    return [e for e in sc.published if isinstance(e, InvoiceIssued)]


def test_M20_no_invoice_is_issued_while_a_cancellation_request_is_pending() -> None:
    sc = pending_past_the_first_date()
    assert sc.invoice(1).status is S.DRAFT and sc.invoice(1).number is None
    assert issued(sc) == []


def test_M20_a_planned_invoice_whose_date_comes_during_the_request_is_held_too() -> None:
    sc = active_scenario()
    sc.order(requested())
    sc.fire(issue_deadline(1))
    assert sc.invoice(1).status is S.PLANNED and issued(sc) == []


def test_M20_a_refusal_issues_at_once_the_invoices_whose_date_passed() -> None:
    sc = pending_past_the_first_date()
    sc.now += timedelta(hours=3)
    sc.order(refused())
    (event,) = issued(sc)
    assert event.invoice_id == invoice_id(1) and event.number == 1
    assert event.issued_at == sc.now
    assert sc.invoice(2).status is S.PLANNED  # its date has not come: it waits for it


def test_M20_after_a_refusal_the_next_invoice_is_issued_on_its_date_as_usual() -> None:
    sc = pending_past_the_first_date()
    sc.order(refused())
    sc.fire(draft_deadline(2))
    sc.fire(issue_deadline(2))
    assert [e.invoice_id for e in issued(sc)] == [invoice_id(1), invoice_id(2)]


def test_M20_an_approval_cancels_and_voids_the_held_invoices() -> None:
    sc = pending_past_the_first_date()
    sc.order(order_cancelled())
    assert [i.status for i in sc.ledger.invoices] == [S.CANCELLED, S.CANCELLED]
    assert issued(sc) == []


def test_M20_a_change_request_settled_during_the_cancellation_request_issues_nothing() -> None:
    sc = active_scenario()
    sc.fire(draft_deadline(1))
    sc.do(command(RequestInvoiceChanges, MEMBER.party, invoice_id=invoice_id(1), message="PO"))
    sc.order(requested())
    sc.fire(issue_deadline(1))
    decline = command(DeclineInvoiceChanges, OPERATOR, invoice_id=invoice_id(1), reason="No")
    sc.do(decline)
    assert sc.invoice(1).status is S.DRAFT and issued(sc) == []
    sc.order(refused())
    assert [e.invoice_id for e in issued(sc)] == [invoice_id(1)]


def test_M20_a_draft_with_an_open_change_request_stays_held_by_it_after_a_refusal() -> None:
    sc = active_scenario()
    sc.fire(draft_deadline(1))
    sc.do(command(RequestInvoiceChanges, MEMBER.party, invoice_id=invoice_id(1), message="PO"))
    sc.order(requested())
    sc.fire(issue_deadline(1))
    sc.order(refused())
    assert sc.invoice(1).status is S.CHANGES_REQUESTED and issued(sc) == []


def test_M20_the_same_refusal_delivered_twice_issues_once() -> None:
    sc = pending_past_the_first_date()
    refusal = refused()
    sc.order(refusal)
    again = sc.order(refusal.model_copy(update={"message_id": uuid.uuid4()}))
    assert again.events == [] and len(issued(sc)) == 1
    assert sc.invoice(1).total.amount == Decimal("1500.00")
