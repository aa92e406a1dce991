"""Post-paid service orders, rule by rule (seeds 001 and 004, P-01 to P-17)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.envelope import SYSTEM, Party, Role
from contracts.orders import (
    AcceptProposal,
    CancelOrder,
    ChangeProposed,
    ConfirmExecution,
    ConfirmOrder,
    EditOrder,
    ExecutionConfirmed,
    LeaveReview,
    MarkOrderPaid,
    MarkServiceDone,
    OrderCancelled,
    OrderStatus,
    ProposalLapsed,
    RejectionReason,
    RejectProposal,
    ServiceMarkedDone,
    TermsChange,
)
from ordering.domain import CancelDeadline, DeadlineKind, ScheduleDeadline
from ordering.domain.model import postpaid_details
from tests.unit.ordering.ordering_kit import CUSTOMER, SUPPLIER, T0, Scenario, eur
from tests.unit.ordering.ordering_states import postpaid_in

S = OrderStatus
R = RejectionReason
START = T0 + timedelta(days=3)
END = START + timedelta(hours=1)


def terms(sc: Scenario) -> tuple[object, ...]:
    t = postpaid_details(sc.current).terms
    return (t.appointment_start, t.appointment_end, t.price, t.payment_method)


def test_P01_a_new_order_waits_for_the_supplier_and_asks_no_payment_yet() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    assert sc.status() is S.CONFIRMATION
    assert postpaid_details(sc.current).awaiting is Role.SUPPLIER


def test_P02_order_is_cancelled_when_nobody_confirms_within_24h() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    deadline = sc.current.open_deadline(DeadlineKind.CONFIRMATION_WINDOW)
    assert deadline is not None and deadline.due_at == T0 + timedelta(hours=24)
    (event,) = sc.fire(DeadlineKind.CONFIRMATION_WINDOW).events
    assert isinstance(event, OrderCancelled) and event.actor == SYSTEM
    assert sc.status() is S.CANCELLED


def test_P02_every_edit_restarts_the_24h_window_under_a_new_id() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    first = sc.current.open_deadline(DeadlineKind.CONFIRMATION_WINDOW)
    assert first is not None
    sc.later(timedelta(hours=20))
    decision = sc.decide(EditOrder, SUPPLIER.party, changes=TermsChange(price=eur("75.00")))
    second = sc.current.open_deadline(DeadlineKind.CONFIRMATION_WINDOW)
    assert second is not None and second.n == first.n + 1
    assert second.due_at == T0 + timedelta(hours=44)
    order_id = sc.current.order_id
    assert decision.deadlines == [
        CancelDeadline(first.id(order_id), order_id),
        ScheduleDeadline(second.id(order_id), order_id, "confirmation_window", second.due_at),
    ]
    # The first window's timer may still fire: it changes nothing.
    assert sc.fire_id(first.id(order_id), "confirmation_window", first.due_at).events == []
    assert sc.status() is S.CONFIRMATION


def test_P03_supplier_confirms_a_new_order_at_once() -> None:
    sc = postpaid_in(S.CONFIRMATION).do(ConfirmOrder, SUPPLIER.party)
    assert sc.status() is S.IN_PROGRESS


def test_P03_supplier_may_change_date_time_and_price_with_a_comment() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    change = TermsChange(appointment_start=START + timedelta(days=1), price=eur("80.00"))
    sc.do(EditOrder, SUPPLIER.party, changes=change, comment="Busy that day")
    # Moving only the start keeps the appointment's length.
    assert terms(sc) == (START + timedelta(days=1), END + timedelta(days=1), eur("80.00"), "card")


def test_P03_supplier_cannot_change_the_payment_method() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    rejection = sc.decide(
        EditOrder, SUPPLIER.party, changes=TermsChange(payment_method="cash")
    ).rejection
    assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED


def test_P04_customer_may_change_date_time_and_payment_method() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    change = TermsChange(appointment_end=END + timedelta(minutes=30), payment_method="invoice")
    sc.do(EditOrder, CUSTOMER.party, changes=change)
    assert terms(sc) == (START, END + timedelta(minutes=30), eur("60.00"), "invoice")


def test_P04_customer_cannot_change_the_price() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    rejection = sc.decide(EditOrder, CUSTOMER.party, changes=TermsChange(price=eur("1"))).rejection
    assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED
    assert "price" in rejection.message


def test_P05_after_an_edit_only_the_other_party_may_confirm() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    sc.do(EditOrder, SUPPLIER.party, changes=TermsChange(price=eur("70.00")))
    rejection = sc.decide(ConfirmOrder, SUPPLIER.party).rejection
    assert rejection is not None and rejection.reason is R.NOT_YOUR_TURN


def test_P05_a_counter_proposal_passes_the_turn_back() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    sc.do(
        EditOrder, SUPPLIER.party, changes=TermsChange(appointment_start=START + timedelta(hours=2))
    )
    sc.do(
        EditOrder, CUSTOMER.party, changes=TermsChange(appointment_start=START + timedelta(hours=4))
    )
    assert postpaid_details(sc.current).awaiting is Role.SUPPLIER
    sc.do(ConfirmOrder, SUPPLIER.party)
    assert sc.status() is S.IN_PROGRESS


def test_P06_customer_confirming_the_supplier_s_changes_starts_the_work() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    sc.do(EditOrder, SUPPLIER.party, changes=TermsChange(price=eur("70.00")))
    sc.do(ConfirmOrder, CUSTOMER.party)
    assert sc.status() is S.IN_PROGRESS
    assert postpaid_details(sc.current).terms.price == eur("70.00")


def test_P07_an_unconfirmed_price_change_cancels_the_order_when_the_window_passes() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    sc.do(EditOrder, SUPPLIER.party, changes=TermsChange(price=eur("95.00")))
    sc.fire(DeadlineKind.CONFIRMATION_WINDOW)
    assert sc.status() is S.CANCELLED


@pytest.mark.parametrize("actor", [SUPPLIER.party, CUSTOMER.party], ids=["supplier", "customer"])
def test_P08_either_party_may_cancel_during_confirmation_giving_a_reason(actor: Party) -> None:
    sc = postpaid_in(S.CONFIRMATION)
    (event,) = sc.decide(CancelOrder, actor, reason="Not available").events
    assert isinstance(event, OrderCancelled) and event.reason == "Not available"
    assert not event.fee_may_apply


def test_P09_a_supplier_change_in_progress_applies_only_once_accepted() -> None:
    sc = postpaid_in(S.IN_PROGRESS)
    (proposed,) = sc.decide(EditOrder, SUPPLIER.party, changes=TermsChange(price=eur("70"))).events
    assert isinstance(proposed, ChangeProposed)
    assert postpaid_details(sc.current).terms.price == eur("60.00")
    sc.do(AcceptProposal, CUSTOMER.party, proposal=proposed.proposal)
    assert postpaid_details(sc.current).terms.price == eur("70")
    assert sc.status() is S.IN_PROGRESS


def test_P09_after_a_rejection_the_supplier_may_propose_again() -> None:
    sc = postpaid_in(S.IN_PROGRESS, proposal=True)
    sc.do(RejectProposal, CUSTOMER.party, proposal=1, comment="Too dear")
    assert postpaid_details(sc.current).terms.price == eur("60.00")
    sc.do(EditOrder, SUPPLIER.party, changes=TermsChange(price=eur("65.00")))
    proposal = postpaid_details(sc.current).proposal
    assert proposal is not None and proposal.number == 2


def test_P09_a_pending_proposal_lapses_after_24h_and_the_terms_stand() -> None:
    sc = postpaid_in(S.IN_PROGRESS, proposal=True)
    proposal = postpaid_details(sc.current).proposal
    assert proposal is not None and proposal.lapses_at == sc.now + timedelta(hours=24)
    (event,) = sc.fire(DeadlineKind.PROPOSAL_LAPSE).events
    assert isinstance(event, ProposalLapsed)
    assert postpaid_details(sc.current).proposal is None
    assert postpaid_details(sc.current).terms.price == eur("60.00")


def test_P09_a_pending_proposal_lapses_at_the_appointment_start_if_sooner() -> None:
    sc = postpaid_in(S.IN_PROGRESS).at(START - timedelta(hours=3))
    sc.do(EditOrder, SUPPLIER.party, changes=TermsChange(price=eur("70")))
    proposal = postpaid_details(sc.current).proposal
    assert proposal is not None and proposal.lapses_at == START


def test_P09_a_lapsed_or_superseded_proposal_cannot_be_accepted() -> None:
    sc = postpaid_in(S.IN_PROGRESS, proposal=True)
    sc.do(EditOrder, SUPPLIER.party, changes=TermsChange(price=eur("66")))
    stale = sc.decide(AcceptProposal, CUSTOMER.party, proposal=1).rejection
    assert stale is not None and stale.reason is R.STALE_PROPOSAL
    sc.later(timedelta(hours=25))
    lapsed = sc.decide(AcceptProposal, CUSTOMER.party, proposal=2).rejection
    assert lapsed is not None and lapsed.reason is R.WINDOW_CLOSED


def test_P09_no_change_once_the_appointment_has_started() -> None:
    sc = postpaid_in(S.IN_PROGRESS).at(START)
    rejection = sc.decide(EditOrder, SUPPLIER.party, changes=TermsChange(price=eur("70"))).rejection
    assert rejection is not None and rejection.reason is R.WINDOW_CLOSED


def test_P09_the_customer_cannot_edit_while_in_progress() -> None:
    sc = postpaid_in(S.IN_PROGRESS)
    change = TermsChange(payment_method="invoice")
    rejection = sc.decide(EditOrder, CUSTOMER.party, changes=change).rejection
    assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED


def test_P09_an_accepted_new_appointment_moves_the_auto_done_deadline() -> None:
    sc = postpaid_in(S.IN_PROGRESS)
    before = sc.current.open_deadline(DeadlineKind.AUTO_DONE)
    sc.do(
        EditOrder, SUPPLIER.party, changes=TermsChange(appointment_start=START + timedelta(days=1))
    )
    sc.do(AcceptProposal, CUSTOMER.party, proposal=1)
    after = sc.current.open_deadline(DeadlineKind.AUTO_DONE)
    assert before is not None and after is not None
    assert (after.n, after.due_at) == (before.n + 1, before.due_at + timedelta(days=1))


def test_P10_the_supplier_may_cancel_in_progress_even_after_the_start() -> None:
    sc = postpaid_in(S.IN_PROGRESS).at(START + timedelta(minutes=10))
    sc.do(CancelOrder, SUPPLIER.party, reason="Fell ill")
    assert sc.status() is S.CANCELLED


def test_P11_the_customer_may_cancel_before_the_start_and_a_fee_may_apply() -> None:
    sc = postpaid_in(S.IN_PROGRESS)
    (event,) = sc.decide(CancelOrder, CUSTOMER.party, reason="Changed plans").events
    assert isinstance(event, OrderCancelled)
    assert event.fee_may_apply and event.previous_status is S.IN_PROGRESS


def test_P11_the_customer_cannot_cancel_once_the_appointment_started() -> None:
    sc = postpaid_in(S.IN_PROGRESS).at(START)
    rejection = sc.decide(CancelOrder, CUSTOMER.party, reason="Late").rejection
    assert rejection is not None and rejection.reason is R.WINDOW_CLOSED


def test_P12_the_supplier_marks_the_service_done() -> None:
    sc = postpaid_in(S.IN_PROGRESS).at(END)
    (event,) = sc.decide(MarkServiceDone, SUPPLIER.party).events
    assert isinstance(event, ServiceMarkedDone) and not event.automatic
    assert sc.status() is S.EXECUTION_CONFIRMATION


def test_P12_the_service_cannot_be_done_before_the_appointment() -> None:
    rejection = postpaid_in(S.IN_PROGRESS).decide(MarkServiceDone, SUPPLIER.party).rejection
    assert rejection is not None and rejection.reason is R.TOO_EARLY


def test_P12_the_service_is_done_automatically_72h_after_the_appointment_end() -> None:
    sc = postpaid_in(S.IN_PROGRESS)
    deadline = sc.current.open_deadline(DeadlineKind.AUTO_DONE)
    assert deadline is not None and deadline.due_at == END + timedelta(hours=72)
    (event,) = sc.fire(DeadlineKind.AUTO_DONE).events
    assert isinstance(event, ServiceMarkedDone) and event.automatic
    assert sc.status() is S.EXECUTION_CONFIRMATION


def test_P13_the_customer_confirms_the_execution() -> None:
    sc = postpaid_in(S.EXECUTION_CONFIRMATION).do(ConfirmExecution, CUSTOMER.party)
    assert sc.status() is S.PAYMENT


def test_P13_the_execution_is_confirmed_automatically_after_5_days() -> None:
    sc = postpaid_in(S.EXECUTION_CONFIRMATION)
    deadline = sc.current.open_deadline(DeadlineKind.AUTO_CONFIRM)
    assert deadline is not None and deadline.due_at == sc.now + timedelta(days=5)
    (event,) = sc.fire(DeadlineKind.AUTO_CONFIRM).events
    assert isinstance(event, ExecutionConfirmed) and event.automatic


def test_P14_with_a_payment_stage_the_order_moves_to_payment() -> None:
    sc = postpaid_in(S.EXECUTION_CONFIRMATION, payment_stage=True)
    sc.do(ConfirmExecution, CUSTOMER.party)
    assert sc.status() is S.PAYMENT


def test_P14_without_a_payment_stage_the_order_closes() -> None:
    sc = postpaid_in(S.EXECUTION_CONFIRMATION, payment_stage=False)
    sc.fire(DeadlineKind.AUTO_CONFIRM)
    assert sc.status() is S.CLOSED


def test_P15_the_order_closes_once_payments_reports_it_paid() -> None:
    sc = postpaid_in(S.PAYMENT).do(MarkOrderPaid, SYSTEM, payment_id="pay-9")
    assert sc.status() is S.CLOSED


def test_P15_only_payments_reports_a_payment() -> None:
    rejection = (
        postpaid_in(S.PAYMENT).decide(MarkOrderPaid, CUSTOMER.party, payment_id="x").rejection
    )
    assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED


def test_P17_the_customer_reviews_a_closed_order_once() -> None:
    sc = postpaid_in(S.CLOSED)
    sc.do(LeaveReview, CUSTOMER.party, service_rating=5, supplier_rating=5, text="Lovely")
    again = sc.decide(LeaveReview, CUSTOMER.party, service_rating=1, supplier_rating=1)
    assert again.rejection is not None and again.rejection.reason is R.ALREADY_EXISTS


def test_P17_the_supplier_cannot_review_its_own_order() -> None:
    sc = postpaid_in(S.CLOSED)
    rejection = sc.decide(
        LeaveReview, SUPPLIER.party, service_rating=5, supplier_rating=5
    ).rejection
    assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED
