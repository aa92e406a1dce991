"""Deadlines as pure values, stale deadlines, and what every decision answers (X-rules)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from contracts.envelope import SYSTEM
from contracts.orders import (
    CancelOrder,
    ConfirmOrder,
    CreateOrder,
    OrderCommandRejected,
    OrderStatus,
    RejectionReason,
    SubmitOrder,
)
from ordering.domain import (
    CancelDeadline,
    DeadlineFired,
    DeadlineKind,
    ScheduleDeadline,
    deadline_id,
    decide,
    on_deadline,
)
from tests.unit.ordering.ordering_kit import (
    CUSTOMER,
    MEMBER,
    ORDER_ID,
    SUPPLIER,
    T0,
    Scenario,
    command,
    context,
    postpaid_terms,
)
from tests.unit.ordering.ordering_states import managed_in, postpaid_in

S = OrderStatus
R = RejectionReason


def test_deadline_ids_are_deterministic() -> None:
    assert deadline_id(ORDER_ID, DeadlineKind.AUTO_DONE, 3) == f"{ORDER_ID}:auto_done:3"


def test_creating_a_postpaid_order_schedules_the_supplier_s_window() -> None:
    decision = Scenario().decide(
        CreateOrder, CUSTOMER.party, parties=[SUPPLIER, CUSTOMER], terms=postpaid_terms()
    )
    due = T0 + timedelta(hours=24)
    assert decision.deadlines == [
        ScheduleDeadline(f"{ORDER_ID}:confirmation_window:0", ORDER_ID, "confirmation_window", due)
    ]


def test_a_refused_command_schedules_nothing() -> None:
    decision = postpaid_in(S.CONFIRMATION).decide(ConfirmOrder, CUSTOMER.party)
    assert decision.rejection is not None and decision.rejection.reason is R.NOT_YOUR_TURN
    assert decision.deadlines == []


def test_a_transition_cancels_the_windows_it_leaves_and_schedules_the_ones_it_enters() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    decision = sc.decide(ConfirmOrder, SUPPLIER.party)
    auto_done = sc.current.open_deadline(DeadlineKind.AUTO_DONE)
    assert auto_done is not None
    assert decision.deadlines == [
        CancelDeadline(f"{ORDER_ID}:confirmation_window:0", ORDER_ID),
        ScheduleDeadline(f"{ORDER_ID}:auto_done:0", ORDER_ID, "auto_done", auto_done.due_at),
    ]


def test_X02_a_deadline_whose_order_moved_on_changes_nothing() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    window = sc.current.open_deadline(DeadlineKind.CONFIRMATION_WINDOW)
    assert window is not None
    sc.do(CancelOrder, CUSTOMER.party, reason="Found another teacher")
    decision = sc.fire_id(window.id(ORDER_ID), window.kind, window.due_at)
    assert (decision.events, decision.rejection, decision.deadlines) == ([], None, [])
    assert sc.status() is S.CANCELLED


def test_X02_an_unknown_or_foreign_deadline_changes_nothing() -> None:
    sc = managed_in(S.OPERATOR_REVIEW)
    version = sc.current.version
    for fake in (f"{ORDER_ID}:offer_expiry:7", f"{ORDER_ID}:auto_done:0", "garbage"):
        assert sc.fire_id(fake, "offer_expiry", T0 + timedelta(days=30)).events == []
    stranger = DeadlineFired(
        f"{ORDER_ID}:offer_expiry:0", "offer_expiry", uuid.uuid4(), T0, uuid.uuid4()
    )
    assert on_deadline(sc.current, stranger, T0, context()).events == []
    assert on_deadline(None, stranger, T0, context()).events == []
    assert sc.current.version == version


def test_X02_a_deadline_fires_once_its_window_is_closed_after_firing() -> None:
    sc = managed_in(S.OPERATOR_REVIEW)
    review = sc.current.open_deadline(DeadlineKind.REVIEW_OVERDUE)
    assert review is not None
    first = sc.fire(DeadlineKind.REVIEW_OVERDUE)
    assert len(first.events) == 1 and first.deadlines == []
    again = sc.fire_id(review.id(ORDER_ID), review.kind, review.due_at)
    assert again.events == []


def test_X03_a_late_deadline_still_applies_when_it_finally_fires() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    window = sc.current.open_deadline(DeadlineKind.CONFIRMATION_WINDOW)
    assert window is not None
    sc.at(window.due_at + timedelta(days=2))  # the timer service was down
    decision = sc.fire_id(window.id(ORDER_ID), window.kind, window.due_at)
    assert decision.events and sc.status() is S.CANCELLED


def test_X07_a_refused_command_is_answered_with_a_rejection_event() -> None:
    sc = managed_in(S.DRAFT, offer_valid_until=T0 - timedelta(days=1))
    decision = sc.decide(SubmitOrder, MEMBER.party)
    answer = decision.rejection_event
    assert isinstance(answer, OrderCommandRejected)
    assert decision.events == [] and decision.messages() == [answer]
    assert (answer.reason, answer.command_type, answer.order_id) == (
        "offer_expired",
        "SubmitOrder",
        ORDER_ID,
    )
    assert answer.causation_id == answer.command_id
    assert answer.actor == SYSTEM


def test_X07_event_envelopes_follow_from_the_command() -> None:
    sc = managed_in(S.DRAFT)
    cmd = command(SubmitOrder, MEMBER.party)
    first = decide(sc.order, cmd, sc.now, sc.ctx)
    second = decide(sc.order, cmd, sc.now, sc.ctx)
    (event,) = first.events
    assert event.causation_id == cmd.message_id
    assert event.correlation_id == cmd.correlation_id
    assert event.occurred_at == sc.now and event.actor == MEMBER.party
    # Deciding a redelivered command again makes the very same ids.
    assert [e.message_id for e in second.events] == [event.message_id]
