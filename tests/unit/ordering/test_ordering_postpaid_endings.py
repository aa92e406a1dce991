"""Post-paid rules added after the first system ran: a new price only by the customer's
explicit acceptance (P-19), no supplier cancellation once the service is provided (P-20),
and an order that ends unpaid when payments gives up collecting (P-21)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.envelope import SYSTEM, Party
from contracts.orders import (
    CancelOrder,
    ConfirmOrder,
    EditOrder,
    LeaveReview,
    MarkOrderUnpaid,
    MarkServiceDone,
    OrderCancelled,
    OrderClosedUnpaid,
    OrderConfirmed,
    OrderEdited,
    OrderStatus,
    RejectionReason,
    TermsChange,
)
from ordering.domain import DeadlineKind
from ordering.domain.model import postpaid_details
from tests.unit.ordering.ordering_kit import CUSTOMER, SUPPLIER, T0, Scenario, eur
from tests.unit.ordering.ordering_states import postpaid_in

S = OrderStatus
R = RejectionReason
START = T0 + timedelta(days=3)
END = START + timedelta(hours=1)
RAISED = eur("75.00")


def price_raised() -> Scenario:
    """A new order whose supplier asks 75 instead of the booked 60."""
    sc = postpaid_in(S.CONFIRMATION)
    sc.do(EditOrder, SUPPLIER.party, changes=TermsChange(price=RAISED), comment="Longer lesson")
    return sc


def counter_edit(sc: Scenario, **fields: object) -> OrderEdited:
    moved = TermsChange(appointment_start=START + timedelta(hours=2))
    (event,) = sc.decide(EditOrder, CUSTOMER.party, changes=moved, **fields).events
    assert isinstance(event, OrderEdited)
    return event


def test_P19_the_supplier_s_new_price_is_shown_pending_on_its_edit() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    (event,) = sc.decide(EditOrder, SUPPLIER.party, changes=TermsChange(price=RAISED)).events
    assert isinstance(event, OrderEdited)
    assert event.pending_price == RAISED and event.accepted_price is None
    assert postpaid_details(sc.current).pending_price == RAISED


def test_P19_a_counter_edit_of_the_date_leaves_the_new_price_unaccepted() -> None:
    sc = price_raised()
    assert counter_edit(sc).pending_price == RAISED
    rejection = sc.decide(ConfirmOrder, SUPPLIER.party).rejection
    assert rejection is not None and rejection.reason is R.PRICE_NOT_ACCEPTED
    assert sc.status() is S.CONFIRMATION


def test_P19_a_counter_edit_of_the_payment_method_leaves_the_new_price_unaccepted() -> None:
    sc = price_raised()
    changes = TermsChange(payment_method="invoice")
    (event,) = sc.decide(EditOrder, CUSTOMER.party, changes=changes).events
    assert isinstance(event, OrderEdited) and event.pending_price == RAISED


def test_P19_the_customer_accepts_the_new_price_by_confirming() -> None:
    sc = price_raised()
    (event,) = sc.decide(ConfirmOrder, CUSTOMER.party).events
    assert isinstance(event, OrderConfirmed) and event.accepted_price == RAISED
    assert sc.status() is S.IN_PROGRESS
    assert postpaid_details(sc.current).terms.price == RAISED


def test_P19_the_customer_accepts_the_new_price_with_a_counter_edit() -> None:
    sc = price_raised()
    event = counter_edit(sc, accept_price=RAISED)
    assert event.accepted_price == RAISED and event.pending_price is None
    sc.do(ConfirmOrder, SUPPLIER.party)
    assert sc.status() is S.IN_PROGRESS
    assert postpaid_details(sc.current).terms.price == RAISED


def test_P19_accepting_a_price_other_than_the_order_s_is_refused() -> None:
    sc = price_raised()
    moved = TermsChange(appointment_start=START + timedelta(hours=2))
    decision = sc.decide(EditOrder, CUSTOMER.party, changes=moved, accept_price=eur("70.00"))
    assert decision.rejection is not None and decision.rejection.reason is R.STALE_PRICE
    assert postpaid_details(sc.current).pending_price == RAISED


def test_P19_only_the_customer_accepts_a_price() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    changes = TermsChange(price=RAISED)
    rejection = sc.decide(EditOrder, SUPPLIER.party, changes=changes, accept_price=RAISED).rejection
    assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED


def test_P19_the_supplier_withdraws_the_new_price_by_editing_it_back() -> None:
    sc = price_raised()
    counter_edit(sc)
    (event,) = sc.decide(EditOrder, SUPPLIER.party, changes=TermsChange(price=eur("60"))).events
    assert isinstance(event, OrderEdited) and event.pending_price is None
    sc.do(ConfirmOrder, CUSTOMER.party)
    assert sc.status() is S.IN_PROGRESS
    assert postpaid_details(sc.current).terms.price == eur("60")


def test_P19_the_supplier_restates_the_price_for_the_customer_to_accept() -> None:
    sc = price_raised()
    counter_edit(sc)
    sc.do(EditOrder, SUPPLIER.party, changes=TermsChange(price=RAISED))
    sc.do(ConfirmOrder, CUSTOMER.party)
    terms = postpaid_details(sc.current).terms
    assert (terms.price, terms.appointment_start) == (RAISED, START + timedelta(hours=2))


def test_P19_an_unaccepted_price_cancels_the_order_when_the_window_passes() -> None:
    sc = price_raised()
    counter_edit(sc)
    (event,) = sc.fire(DeadlineKind.CONFIRMATION_WINDOW).events
    assert isinstance(event, OrderCancelled) and "price" in event.reason
    assert sc.status() is S.CANCELLED


def test_P19_an_accepted_price_stays_agreed_through_later_edits() -> None:
    sc = price_raised()
    counter_edit(sc, accept_price=RAISED)
    moved = TermsChange(appointment_start=START + timedelta(hours=3))
    (event,) = sc.decide(EditOrder, SUPPLIER.party, changes=moved).events
    assert isinstance(event, OrderEdited) and event.pending_price is None


def test_P20_the_supplier_may_cancel_in_progress_until_the_appointment_ends() -> None:
    sc = postpaid_in(S.IN_PROGRESS).at(END - timedelta(minutes=1))
    sc.do(CancelOrder, SUPPLIER.party, reason="Fell ill")
    assert sc.status() is S.CANCELLED


def test_P20_the_supplier_cannot_cancel_once_the_appointment_has_ended() -> None:
    sc = postpaid_in(S.IN_PROGRESS).at(END)
    rejection = sc.decide(CancelOrder, SUPPLIER.party, reason="Too late").rejection
    assert rejection is not None and rejection.reason is R.SERVICE_ALREADY_PROVIDED
    assert sc.status() is S.IN_PROGRESS


def test_P20_the_supplier_cannot_cancel_once_it_marked_the_service_done() -> None:
    sc = postpaid_in(S.IN_PROGRESS).at(START + timedelta(minutes=30))
    sc.do(MarkServiceDone, SUPPLIER.party)
    rejection = sc.decide(CancelOrder, SUPPLIER.party, reason="Changed my mind").rejection
    assert rejection is not None and rejection.reason is R.NOT_ALLOWED_IN_STATUS
    assert sc.status() is S.EXECUTION_CONFIRMATION


@pytest.mark.parametrize("cause", ["claim_written_off", "claim_withdrawn"])
def test_P21_payments_ends_an_uncollected_order_closed_and_marked_unpaid(cause: str) -> None:
    sc = postpaid_in(S.PAYMENT)
    (event,) = sc.decide(MarkOrderUnpaid, SYSTEM, claim_id="claim-7", cause=cause).events
    assert isinstance(event, OrderClosedUnpaid)
    assert (event.status, event.cause, event.claim_id, event.unpaid) == (
        S.CLOSED,
        cause,
        "claim-7",
        True,
    )
    assert postpaid_details(sc.current).unpaid


def test_P21_the_review_opens_once_the_order_is_closed_unpaid() -> None:
    sc = postpaid_in(S.PAYMENT).do(
        MarkOrderUnpaid, SYSTEM, claim_id="claim-7", cause="claim_written_off"
    )
    sc.do(LeaveReview, CUSTOMER.party, service_rating=4, supplier_rating=4)
    assert postpaid_details(sc.current).reviewed


def test_P21_an_order_already_closed_paid_refuses_it() -> None:
    sc = postpaid_in(S.CLOSED)
    decision = sc.decide(MarkOrderUnpaid, SYSTEM, claim_id="claim-7", cause="claim_withdrawn")
    assert decision.rejection is not None
    assert decision.rejection.reason is R.NOT_ALLOWED_IN_STATUS
    assert not postpaid_details(sc.current).unpaid


def test_P21_a_second_unpaid_report_is_refused_and_changes_nothing() -> None:
    sc = postpaid_in(S.PAYMENT)
    sc.do(MarkOrderUnpaid, SYSTEM, claim_id="claim-7", cause="claim_written_off")
    version = sc.current.version
    decision = sc.decide(MarkOrderUnpaid, SYSTEM, claim_id="claim-7", cause="claim_written_off")
    assert decision.rejection is not None
    assert decision.rejection.reason is R.NOT_ALLOWED_IN_STATUS
    assert sc.current.version == version


@pytest.mark.parametrize("actor", [CUSTOMER.party, SUPPLIER.party], ids=["customer", "supplier"])
def test_P21_only_payments_reports_an_order_unpaid(actor: Party) -> None:
    sc = postpaid_in(S.PAYMENT)
    decision = sc.decide(MarkOrderUnpaid, actor, claim_id="claim-7", cause="claim_withdrawn")
    assert decision.rejection is not None and decision.rejection.reason is R.NOT_AUTHORIZED
