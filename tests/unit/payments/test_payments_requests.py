"""The payment request, rule by rule (P-01, P-14, P-15): opened when the execution is
confirmed, paid by money the gateway confirms, overdue when the window passes."""

from __future__ import annotations

from datetime import timedelta

from contracts.envelope import Role
from contracts.orders import Flow, MarkOrderPaid, OrderStatus
from contracts.payments import (
    ChargeFailed,
    ChargeRequested,
    PaymentCommandRejected,
    PaymentOverdue,
    PaymentReceived,
    PaymentRejectionReason,
    PaymentRequested,
    PaymentSettled,
    Purpose,
    RecordChargeFailure,
    RecordPayment,
    RefundCause,
    RefundRequested,
    RequestStatus,
)
from payments.domain import PAYMENTS, DeadlineKind, Policy, ScheduleDeadline
from tests.unit.payments.payments_kit import (
    CUSTOMER,
    END,
    GATEWAY,
    SUPPLIER,
    T0,
    Scenario,
    awaiting_payment,
    command,
    created,
    eur,
    execution_confirmed,
    in_progress,
    overdue,
    payment,
)

R = PaymentRejectionReason
S = RequestStatus
CONFIRMED_AT = END + timedelta(days=1)


def test_P01_nothing_is_asked_of_the_customer_before_the_service_is_confirmed() -> None:
    sc = in_progress()
    assert sc.events == []
    assert sc.current.request is None
    rejection = sc.pay("60.00").rejection
    assert rejection is not None and rejection.reason is R.NO_PAYMENT_REQUEST


def test_P15_entering_payment_opens_a_request_for_the_price_with_a_72h_window() -> None:
    sc = awaiting_payment()
    (event,) = sc.events
    assert isinstance(event, PaymentRequested)
    assert (event.amount, event.purpose, event.status) == (
        eur("60.00"),
        Purpose.ORDER_PRICE,
        S.OPEN,
    )
    assert event.due_at == CONFIRMED_AT + timedelta(hours=72)
    assert event.customer == CUSTOMER and event.supplier == SUPPLIER
    (timer,) = sc.deadlines
    assert isinstance(timer, ScheduleDeadline)
    assert (timer.kind, timer.due_at) == ("payment_window", event.due_at)
    assert timer.deadline_id.startswith("payments:")


def test_P15_the_window_is_configuration() -> None:
    sc = awaiting_payment(Policy(payment_window=timedelta(seconds=3)))
    request = sc.current.request
    assert request is not None and request.due_at == CONFIRMED_AT + timedelta(seconds=3)


def test_P15_paid_in_full_inside_the_window_settles_and_tells_ordering_the_order_is_paid() -> None:
    sc = awaiting_payment().later(timedelta(hours=5))
    decision = sc.pay("60.00", "gw-123")
    assert [e.type for e in decision.events] == [
        "PaymentReceived",
        "PaymentSettled",
        "PayoutScheduled",
    ]
    (tell,) = decision.commands
    assert isinstance(tell, MarkOrderPaid)
    assert tell.payment_id == "gw-123" and tell.actor == PAYMENTS
    assert tell.actor.role is Role.SYSTEM and tell.order_id == sc.current.order_id
    assert tell.causation_id == decision.events[0].causation_id
    request = sc.current.request
    assert request is not None and request.status is S.PAID
    assert sc.current.open_deadline(DeadlineKind.PAYMENT_WINDOW) is None


def test_P15_a_partial_payment_is_recorded_and_keeps_the_request_open_for_the_rest() -> None:
    sc = awaiting_payment()
    (received,) = sc.pay("25.50", "gw-1").events
    assert isinstance(received, PaymentReceived)
    assert (received.applied, received.outstanding, received.status) == (
        eur("25.50"),
        eur("34.50"),
        S.OPEN,
    )
    events = sc.pay("34.50", "gw-2").events
    assert [e.type for e in events][:2] == ["PaymentReceived", "PaymentSettled"]
    assert isinstance(events[0], PaymentReceived)
    assert events[0].paid_total == eur("60.00") and events[0].outstanding == eur("0.00")


def test_P15_an_over_payment_settles_and_flags_the_excess_for_refund() -> None:
    sc = awaiting_payment()
    events = sc.pay("75.00").events
    received, refund = events[0], events[1]
    assert isinstance(received, PaymentReceived) and isinstance(refund, RefundRequested)
    assert (received.applied, received.excess) == (eur("60.00"), eur("15.00"))
    assert (refund.amount, refund.cause, refund.customer) == (
        eur("15.00"),
        RefundCause.OVERPAID,
        CUSTOMER,
    )
    assert any(isinstance(e, PaymentSettled) for e in events)
    assert sc.current.refunds[0].amount == eur("15.00")


def test_P15_a_second_payment_after_settlement_is_recorded_and_refunded_in_full() -> None:
    sc = awaiting_payment()
    sc.pay("60.00", "gw-1")
    decision = sc.pay("60.00", "gw-2")
    assert [e.type for e in decision.events] == ["PaymentReceived", "RefundRequested"]
    refund = decision.events[1]
    assert isinstance(refund, RefundRequested) and refund.cause is RefundCause.ALREADY_PAID
    assert decision.commands == [], "ordering is told once"
    request = sc.current.request
    assert request is not None and request.paid_total == eur("60.00")
    assert len(request.receipts) == 2


def test_P15_the_same_payment_confirmation_twice_counts_once() -> None:
    sc = awaiting_payment()
    first = command(RecordPayment, GATEWAY, **payment("60.00", "gw-1"))
    again = command(RecordPayment, GATEWAY, **payment("60.00", "gw-1"))  # a new message id
    assert sc.send(first).accepted
    decision = sc.send(again)
    assert decision.rejection is not None and decision.rejection.reason is R.DUPLICATE_PAYMENT
    assert decision.events == [] and decision.commands == [] and not decision.changed
    assert isinstance(decision.rejection_event, PaymentCommandRejected)
    assert decision.rejection_event.command_id == again.message_id
    assert sc.types().count("PaymentReceived") == 1
    assert sum(isinstance(c, MarkOrderPaid) for c in sc.commands) == 1


def test_P15_the_same_payment_id_with_another_amount_is_refused_as_a_conflict() -> None:
    sc = awaiting_payment()
    sc.pay("10.00", "gw-1")
    rejection = sc.pay("20.00", "gw-1").rejection
    assert rejection is not None and rejection.reason is R.PAYMENT_ID_CONFLICT


def test_P15_a_payment_in_another_currency_or_with_fractions_of_a_cent_is_refused() -> None:
    sc = awaiting_payment()
    usd = sc.decide(RecordPayment, GATEWAY, **payment("60.00", currency="USD")).rejection
    assert usd is not None and usd.reason is R.CURRENCY_MISMATCH
    fraction = sc.pay("10.005").rejection
    assert fraction is not None and fraction.reason is R.INVALID_AMOUNT
    nothing = sc.pay("0").rejection
    assert nothing is not None and nothing.reason is R.INVALID_AMOUNT
    request = sc.current.request
    assert request is not None and request.receipts == ()


def test_P15_only_the_gateway_records_payments() -> None:
    sc = awaiting_payment()
    rejection = sc.decide(RecordPayment, CUSTOMER.party, **payment("60.00")).rejection
    assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED


def test_P15_a_payment_for_an_order_payments_never_saw_is_refused_as_unknown() -> None:
    rejection = Scenario().pay("60.00").rejection
    assert rejection is not None and rejection.reason is R.UNKNOWN_ORDER


def test_P15_when_the_window_passes_unpaid_the_request_is_overdue() -> None:
    sc = awaiting_payment()
    sc.pay("20.00")
    (event,) = sc.fire(DeadlineKind.PAYMENT_WINDOW).events
    assert isinstance(event, PaymentOverdue)
    assert (event.status, event.outstanding) == (S.OVERDUE, eur("40.00"))
    assert event.supplier == SUPPLIER and event.customer == CUSTOMER


def test_P15_the_same_window_firing_twice_changes_nothing_the_second_time() -> None:
    sc = awaiting_payment()
    deadline = sc.current.open_deadline(DeadlineKind.PAYMENT_WINDOW)
    assert deadline is not None
    deadline_id = deadline.id(sc.current.order_id)
    assert sc.fire_id(deadline_id, "payment_window", deadline.due_at).events
    again = sc.fire_id(deadline_id, "payment_window", deadline.due_at)
    assert again.events == [] and not again.changed


def test_P15_a_window_that_fires_after_the_payment_changes_nothing() -> None:
    sc = awaiting_payment()
    deadline = sc.current.open_deadline(DeadlineKind.PAYMENT_WINDOW)
    assert deadline is not None
    sc.pay("60.00")
    late = sc.fire_id(deadline.id(sc.current.order_id), "payment_window", deadline.due_at)
    assert late.events == []
    request = sc.current.request
    assert request is not None and request.status is S.PAID


def test_P15_an_overdue_request_paid_in_full_settles_and_closes_the_order() -> None:
    sc = overdue()
    decision = sc.pay("60.00")
    assert "PaymentSettled" in [e.type for e in decision.events]
    assert len(decision.commands) == 1


def test_P14_without_a_payment_stage_the_price_is_captured_when_the_order_closes() -> None:
    sc = awaiting_payment(payment_stage=False)
    (event,) = sc.events
    assert isinstance(event, ChargeRequested)
    assert (event.amount, event.purpose, event.payment_method) == (
        eur("60.00"),
        Purpose.ORDER_PRICE,
        "card",
    )
    decision = sc.pay("60.00")
    assert [e.type for e in decision.events] == [
        "PaymentReceived",
        "PaymentSettled",
        "PayoutScheduled",
    ]
    assert decision.commands == [], "the order is closed already: ordering is not told"


def test_P14_a_failed_capture_is_recorded_and_the_request_stays_open() -> None:
    sc = awaiting_payment(payment_stage=False)
    request = sc.current.request
    assert request is not None
    decision = sc.decide(
        RecordChargeFailure, GATEWAY, request_id=request.request_id, failure_code="card_declined"
    )
    (event,) = decision.events
    assert isinstance(event, ChargeFailed)
    assert (event.status, event.outstanding, event.failure_code) == (
        S.OPEN,
        eur("60.00"),
        "card_declined",
    )
    assert sc.current.open_deadline(DeadlineKind.PAYMENT_WINDOW) is not None


def test_P14_a_charge_failure_for_a_request_the_customer_pays_is_refused() -> None:
    sc = awaiting_payment()
    request = sc.current.request
    assert request is not None
    wrong = sc.decide(
        RecordChargeFailure, GATEWAY, request_id=request.request_id, failure_code="declined"
    ).rejection
    assert wrong is not None and wrong.reason is R.NOT_A_CHARGE
    unknown = sc.decide(
        RecordChargeFailure, GATEWAY, request_id="nope", failure_code="declined"
    ).rejection
    assert unknown is not None and unknown.reason is R.UNKNOWN_REQUEST


def test_P14_the_price_is_the_one_ordering_confirmed_after_edits() -> None:
    sc = in_progress()
    sc.order(execution_confirmed(CONFIRMED_AT, price=eur("72.5")))
    request = sc.current.request
    assert request is not None and str(request.amount.amount) == "72.50"


def test_X05_events_of_other_flows_and_unknown_orders_change_nothing() -> None:
    sc = Scenario()
    assert not sc.order(execution_confirmed(CONFIRMED_AT)).changed
    managed = created().model_copy(update={"flow": Flow.MANAGED})
    assert not sc.order(managed).changed
    assert sc.ledger is None


def test_X05_the_same_execution_confirmation_twice_opens_one_request() -> None:
    sc = in_progress()
    event = execution_confirmed(CONFIRMED_AT)
    sc.order(event)
    again = sc.order(event.model_copy(update={"message_id": event.message_id}))
    assert again.events == []
    assert sc.types() == ["PaymentRequested"]


def test_X05_ordering_status_is_followed() -> None:
    sc = awaiting_payment()
    assert sc.current.facts.order_status is OrderStatus.PAYMENT
    assert sc.current.facts.customer.contact is not None
    assert sc.current.updated_at >= T0
