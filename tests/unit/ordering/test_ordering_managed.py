"""Managed orders, rule by rule (seed 000, M-01 to M-17)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts.envelope import SYSTEM, Party, Role
from contracts.orders import (
    ApproveCancellation,
    ConfirmAsClient,
    ConfirmOrder,
    CreateOrder,
    DeclineAsClient,
    DuplicateOrder,
    EditDraft,
    MarkInvoicingComplete,
    OperatorReviewOverdue,
    OrderActivated,
    OrderCancelled,
    OrderCreated,
    OrderRejected,
    OrderSentToClient,
    OrderStatus,
    RefuseCancellation,
    RejectionReason,
    RejectOrder,
    RequestCancellation,
    SubmitOrder,
)
from ordering.domain import DeadlineKind, by_order, issue_token, visible_to
from ordering.domain.model import managed_details
from tests.unit.ordering.ordering_kit import (
    CLIENT,
    DUPLICATE_ID,
    MEMBER,
    OPERATOR,
    ORDER_ID,
    SECRET,
    T0,
    Scenario,
    command,
    managed_terms,
)
from tests.unit.ordering.ordering_states import client_token, managed_in

S = OrderStatus
R = RejectionReason


def test_M01_member_can_edit_a_draft_any_number_of_times() -> None:
    sc = managed_in(S.DRAFT)
    for n in range(3):
        sc.do(EditDraft, MEMBER.party, terms=managed_terms(description=f"Version {n}"))
    assert sc.status() is S.DRAFT
    assert managed_details(sc.current).terms.description == "Version 2"


def test_M01_member_can_change_the_client_of_a_draft() -> None:
    new_client = CLIENT.model_copy(update={"id": "client-9"})
    sc = managed_in(S.DRAFT).do(EditDraft, MEMBER.party, terms=managed_terms(), client=new_client)
    assert sc.current.party(Role.CLIENT) == new_client


def test_M02_operator_never_sees_drafts() -> None:
    draft = managed_in(S.DRAFT).current
    assert not visible_to(draft, OPERATOR)
    assert not visible_to(draft, CLIENT.party)
    assert visible_to(draft, MEMBER.party)


def test_M02_operator_sees_an_order_once_submitted() -> None:
    assert visible_to(managed_in(S.OPERATOR_REVIEW).current, OPERATOR)


def test_M03_submitting_moves_the_order_to_operator_review() -> None:
    sc = managed_in(S.DRAFT).do(SubmitOrder, MEMBER.party)
    assert sc.status() is S.OPERATOR_REVIEW


def test_M04_review_overdue_after_24_weekday_hours_is_a_signal_only() -> None:
    friday_afternoon = datetime(2025, 3, 7, 15, 0, tzinfo=UTC)
    sc = Scenario(now=friday_afternoon)
    sc.do(
        CreateOrder,
        MEMBER.party,
        parties=[MEMBER, CLIENT],
        terms=managed_terms(offer_valid_until=friday_afternoon + timedelta(days=10)),
    )
    sc.do(SubmitOrder, MEMBER.party)
    deadline = sc.current.open_deadline(DeadlineKind.REVIEW_OVERDUE)
    assert deadline is not None
    # Friday 15:00 + 9 h to midnight, the weekend skipped, + 15 h of Monday.
    assert deadline.due_at == datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
    decision = sc.fire(DeadlineKind.REVIEW_OVERDUE)
    assert [type(e) for e in decision.events] == [OperatorReviewOverdue]
    assert sc.status() is S.OPERATOR_REVIEW
    assert sc.current.open_deadline(DeadlineKind.REVIEW_OVERDUE) is None


def test_M05_operator_confirm_sends_the_order_to_the_client_with_a_link() -> None:
    sc = managed_in(S.OPERATOR_REVIEW)
    decision = sc.decide(ConfirmOrder, OPERATOR)
    (event,) = decision.events
    assert isinstance(event, OrderSentToClient)
    assert event.client == CLIENT and event.confirmation_token
    assert sc.status() is S.CLIENT_CONFIRMATION


def test_M05_operator_rejects_with_a_reason() -> None:
    sc = managed_in(S.OPERATOR_REVIEW)
    (event,) = sc.decide(RejectOrder, OPERATOR, reason="Missing VAT number").events
    assert isinstance(event, OrderRejected)
    assert (event.cause, event.reason) == ("operator", "Missing VAT number")
    with pytest.raises(ValidationError):
        command(RejectOrder, OPERATOR, reason="")


def test_M05_skipping_client_confirmation_activates_at_once() -> None:
    sc = managed_in(S.OPERATOR_REVIEW, skip_client_confirmation=True, proof_document="doc-7")
    (event,) = sc.decide(ConfirmOrder, OPERATOR).events
    assert isinstance(event, OrderActivated) and event.confirmed_by is Role.OPERATOR
    assert sc.status() is S.ACTIVE


def test_M06_skip_without_proof_is_marked_no_payment_guarantee() -> None:
    sc = managed_in(S.OPERATOR_REVIEW, skip_client_confirmation=True)
    (event,) = sc.decide(ConfirmOrder, OPERATOR).events
    assert isinstance(event, OrderActivated) and event.no_payment_guarantee
    assert managed_details(sc.current).no_payment_guarantee


def test_M06_skip_with_proof_keeps_the_payment_guarantee() -> None:
    sc = managed_in(S.OPERATOR_REVIEW, skip_client_confirmation=True, proof_document="doc-7")
    (event,) = sc.decide(ConfirmOrder, OPERATOR).events
    assert isinstance(event, OrderActivated)
    assert not event.no_payment_guarantee and event.proof_document == "doc-7"


def test_M07_submitting_an_order_whose_offer_has_passed_is_refused() -> None:
    sc = managed_in(S.DRAFT, offer_valid_until=T0 - timedelta(minutes=1))
    rejection = sc.decide(SubmitOrder, MEMBER.party).rejection
    assert rejection is not None and rejection.reason is R.OFFER_EXPIRED


def test_M07_submitting_with_too_little_time_for_the_client_is_refused() -> None:
    sc = managed_in(S.DRAFT, offer_valid_until=T0 + timedelta(days=2))
    rejection = sc.decide(SubmitOrder, MEMBER.party).rejection
    assert rejection is not None and rejection.reason is R.CONFIRMATION_WINDOW_TOO_SHORT
    assert "minimum" in rejection.message


def test_M07_the_minimum_does_not_apply_when_client_confirmation_is_skipped() -> None:
    sc = managed_in(
        S.DRAFT, offer_valid_until=T0 + timedelta(days=1), skip_client_confirmation=True
    )
    assert sc.decide(SubmitOrder, MEMBER.party).accepted


def test_M08_client_confirms_with_the_signed_token() -> None:
    sc = managed_in(S.CLIENT_CONFIRMATION)
    (event,) = sc.decide(ConfirmAsClient, CLIENT.party, token=client_token(sc.current)).events
    assert isinstance(event, OrderActivated) and event.confirmed_by is Role.CLIENT


def test_M08_client_declines_with_the_signed_token() -> None:
    sc = managed_in(S.CLIENT_CONFIRMATION)
    token = client_token(sc.current)
    (event,) = sc.decide(DeclineAsClient, CLIENT.party, token=token, reason="Too dear").events
    assert isinstance(event, OrderRejected) and event.cause == "client"
    assert sc.status() is S.REJECTED


def test_M08_client_token_from_another_order_is_refused() -> None:
    sc = managed_in(S.CLIENT_CONFIRMATION)
    other = issue_token(SECRET, uuid.uuid4(), CLIENT.id, T0 + timedelta(days=10))
    rejection = sc.decide(ConfirmAsClient, CLIENT.party, token=other).rejection
    assert rejection is not None and rejection.reason is R.INVALID_TOKEN
    assert sc.status() is S.CLIENT_CONFIRMATION


def test_M08_a_forged_token_is_refused() -> None:
    sc = managed_in(S.CLIENT_CONFIRMATION)
    forged = issue_token(b"guessed-secret", ORDER_ID, CLIENT.id, T0 + timedelta(days=10))
    rejection = sc.decide(ConfirmAsClient, CLIENT.party, token=forged).rejection
    assert rejection is not None and rejection.reason is R.INVALID_TOKEN


def test_M08_a_token_issued_to_another_client_is_refused() -> None:
    sc = managed_in(S.CLIENT_CONFIRMATION)
    theirs = issue_token(SECRET, ORDER_ID, "client-2", T0 + timedelta(days=10))
    rejection = sc.decide(ConfirmAsClient, CLIENT.party, token=theirs).rejection
    assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED


def test_M08_nobody_but_the_client_can_confirm_even_with_the_token() -> None:
    sc = managed_in(S.CLIENT_CONFIRMATION)
    token = client_token(sc.current)
    for intruder in (MEMBER.party, OPERATOR, Party(id="client-2", role=Role.CLIENT)):
        rejection = sc.decide(ConfirmAsClient, intruder, token=token).rejection
        assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED


def test_M08_the_client_cannot_answer_once_the_offer_has_passed() -> None:
    sc = managed_in(S.CLIENT_CONFIRMATION)
    sc.at(T0 + timedelta(days=10, seconds=1))
    rejection = sc.decide(ConfirmAsClient, CLIENT.party, token=client_token(sc.current)).rejection
    assert rejection is not None and rejection.reason is R.WINDOW_CLOSED


@pytest.mark.parametrize("status", [S.OPERATOR_REVIEW, S.CLIENT_CONFIRMATION])
def test_M09_order_is_rejected_when_the_offer_passes_unanswered(status: OrderStatus) -> None:
    sc = managed_in(status)
    (event,) = sc.fire(DeadlineKind.OFFER_EXPIRY).events
    assert isinstance(event, OrderRejected) and event.cause == "offer_expired"
    assert event.actor == SYSTEM
    assert sc.status() is S.REJECTED


@pytest.mark.parametrize("status", [S.OPERATOR_REVIEW, S.CLIENT_CONFIRMATION])
def test_M09_the_rejection_says_where_the_order_stood_when_the_offer_passed(
    status: OrderStatus,
) -> None:
    """M-09, X-11: `previous_status` lets the notifier tell an offer that expired in review
    (the client was never asked) from one the client did not answer."""
    sc = managed_in(status)
    (event,) = sc.fire(DeadlineKind.OFFER_EXPIRY).events
    assert isinstance(event, OrderRejected) and event.previous_status is status


def test_M09_the_operators_and_the_clients_rejections_say_where_the_order_stood() -> None:
    in_review = managed_in(S.OPERATOR_REVIEW)
    (by_operator,) = in_review.decide(RejectOrder, OPERATOR, reason="Missing VAT number").events
    asked = managed_in(S.CLIENT_CONFIRMATION)
    token = client_token(asked.current)
    (by_client,) = asked.decide(DeclineAsClient, CLIENT.party, token=token, reason="No").events
    assert isinstance(by_operator, OrderRejected) and isinstance(by_client, OrderRejected)
    assert by_operator.previous_status is S.OPERATOR_REVIEW
    assert by_client.previous_status is S.CLIENT_CONFIRMATION


def test_M10_activation_carries_the_planned_invoices_for_invoicing() -> None:
    sc = managed_in(S.CLIENT_CONFIRMATION)
    (event,) = sc.decide(ConfirmAsClient, CLIENT.party, token=client_token(sc.current)).events
    assert isinstance(event, OrderActivated)
    assert [i.invoice_date for i in event.planned_invoices] == [
        date(2025, 3, 31),
        date(2025, 4, 30),
    ]


def test_M10_an_order_without_planned_invoices_cannot_be_submitted() -> None:
    sc = managed_in(S.DRAFT, planned_invoices=[])
    rejection = sc.decide(SubmitOrder, MEMBER.party).rejection
    assert rejection is not None and rejection.reason is R.INVALID


def test_M13_cancellation_needs_a_detailed_reason() -> None:
    sc = managed_in(S.ACTIVE)
    rejection = sc.decide(RequestCancellation, MEMBER.party, reason="no").rejection
    assert rejection is not None and rejection.reason is R.INVALID
    assert sc.status() is S.ACTIVE


def test_M13_operator_approves_a_cancellation() -> None:
    sc = managed_in(S.CANCELLATION_REQUESTED).do(ApproveCancellation, OPERATOR)
    assert sc.status() is S.CANCELLED


def test_M13_operator_refuses_a_cancellation_and_the_order_is_active_again() -> None:
    sc = managed_in(S.CANCELLATION_REQUESTED).do(RefuseCancellation, OPERATOR, reason="Signed")
    assert sc.status() is S.ACTIVE


def test_M14_cancellation_is_announced_with_the_member_s_reason_for_invoicing() -> None:
    sc = managed_in(S.CANCELLATION_REQUESTED)
    (event,) = sc.decide(ApproveCancellation, OPERATOR).events
    assert isinstance(event, OrderCancelled)
    assert event.reason == "The client closed down its business."


def test_M15_a_rejected_order_is_duplicated_into_a_new_linked_draft() -> None:
    sc = managed_in(S.REJECTED)
    decision = sc.decide(DuplicateOrder, MEMBER.party)
    created = by_order(decision.events)[DUPLICATE_ID]
    assert isinstance(created[0], OrderCreated) and created[0].duplicated_from == ORDER_ID
    assert sc.status() is S.REJECTED
    assert managed_details(sc.current).duplicates == (DUPLICATE_ID,)
    copy = sc.others[DUPLICATE_ID]
    assert copy.status is S.DRAFT and managed_details(copy).duplicated_from == ORDER_ID


def test_M15_the_duplicate_can_be_submitted_again() -> None:
    sc = managed_in(S.REJECTED)
    sc.do(DuplicateOrder, MEMBER.party)
    again = Scenario(now=sc.now)
    again.order = sc.others[DUPLICATE_ID]
    again.do(EditDraft, MEMBER.party, terms=managed_terms(), order_id=DUPLICATE_ID)
    again.do(SubmitOrder, MEMBER.party, order_id=DUPLICATE_ID)
    assert again.status() is S.OPERATOR_REVIEW


def test_M15_a_rejected_order_is_never_invoiced() -> None:
    sc = managed_in(S.REJECTED)
    rejection = sc.decide(MarkInvoicingComplete, SYSTEM).rejection
    assert rejection is not None and rejection.reason is R.NOT_ALLOWED_IN_STATUS


def test_M16_completed_once_the_period_ended_and_every_invoice_is_issued() -> None:
    sc = managed_in(S.ACTIVE)
    sc.fire(DeadlineKind.SERVICE_END)
    assert sc.status() is S.ACTIVE  # invoices still pending
    sc.do(MarkInvoicingComplete, SYSTEM)
    assert sc.status() is S.COMPLETED


def test_M16_invoicing_complete_before_the_period_ends_waits_for_the_end() -> None:
    sc = managed_in(S.ACTIVE).do(MarkInvoicingComplete, SYSTEM)
    assert sc.status() is S.ACTIVE
    sc.fire(DeadlineKind.SERVICE_END)
    assert sc.status() is S.COMPLETED


def test_M16_the_period_ends_at_midnight_after_its_last_day() -> None:
    deadline = managed_in(S.ACTIVE).current.open_deadline(DeadlineKind.SERVICE_END)
    assert deadline is not None and deadline.due_at == datetime(2025, 5, 1, tzinfo=UTC)


def test_M16_a_refused_cancellation_completes_an_order_that_met_m16_meanwhile() -> None:
    sc = managed_in(S.CANCELLATION_REQUESTED).do(MarkInvoicingComplete, SYSTEM)
    sc.fire(DeadlineKind.SERVICE_END)
    assert sc.status() is S.CANCELLATION_REQUESTED
    sc.do(RefuseCancellation, OPERATOR)
    assert sc.status() is S.COMPLETED


def test_M17_the_timeline_says_who_did_what_and_when() -> None:
    sc = managed_in(S.ACTIVE)
    timeline = sc.current.timeline
    assert [(e.type, e.actor.role) for e in timeline] == [
        ("OrderCreated", Role.MEMBER),
        ("OrderSubmitted", Role.MEMBER),
        ("OrderSentToClient", Role.OPERATOR),
        ("OrderActivated", Role.CLIENT),
    ]
    assert [e.status for e in timeline][-1] is S.ACTIVE
    assert sc.current.version == len(timeline)
