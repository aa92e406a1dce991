"""P-21: no order waits in `payment` for ever. A claim written off, or withdrawn and not
opened again within the reopen window, ends the order unpaid: payments sends ordering
`MarkOrderUnpaid`."""

from __future__ import annotations

import uuid
from datetime import timedelta

from contracts.orders import ORDER_COMMANDS
from contracts.orders.commands import MarkOrderUnpaid
from contracts.payments import (
    ClaimLapsed,
    ClaimOpened,
    ClaimStatus,
    OpenClaim,
    PaymentRejectionReason,
    RequestStatus,
    WithdrawClaim,
    WriteOffClaim,
)
from contracts.topics import ORDERS_COMMANDS, PAYMENTS_EVENTS, TIMERS_COMMANDS
from payments.domain import (
    PAYMENTS,
    CancelDeadline,
    DeadlineFired,
    DecisionContext,
    ScheduleDeadline,
    on_deadline,
)
from payments.domain.model import DeadlineKind
from payments.handlers import change
from tests.unit.payments.payments_kit import (
    OPERATOR,
    SUPPLIER,
    Scenario,
    awaiting_payment,
    command,
    eur,
    overdue,
)

R = PaymentRejectionReason
K = DeadlineKind
WINDOW = timedelta(days=3)
REASON = "The customer has not paid for the lesson"


def opened(sc: Scenario) -> str:
    (event,) = sc.decide(OpenClaim, SUPPLIER.party, reason=REASON).events
    assert isinstance(event, ClaimOpened)
    return event.claim_id


def withdrawn(window: timedelta = WINDOW) -> tuple[Scenario, str]:
    """An overdue order whose supplier opened a claim and withdrew it."""
    sc = overdue()
    sc.ctx = DecisionContext(policy=sc.ctx.policy, claim_reopen_window=window)
    claim_id = opened(sc)
    sc.do(WithdrawClaim, SUPPLIER.party, claim_id=claim_id)
    return sc, claim_id


def unpaid(sc: Scenario) -> list[MarkOrderUnpaid]:
    return [c for c in sc.commands if isinstance(c, MarkOrderUnpaid)]


def test_P21_a_claim_written_off_tells_ordering_the_order_ends_unpaid() -> None:
    sc = overdue()
    claim_id = opened(sc)
    decision = sc.decide(WriteOffClaim, OPERATOR, claim_id=claim_id, reason="Unreachable")
    (command,) = decision.commands
    assert isinstance(command, MarkOrderUnpaid)
    assert (command.claim_id, command.cause) == (claim_id, "claim_written_off")
    assert command.actor == PAYMENTS and command.order_id == sc.current.order_id


def test_P21_a_withdrawn_claim_has_a_durable_reopen_deadline() -> None:
    sc, _ = withdrawn()
    deadline = sc.current.open_deadline(K.CLAIM_REOPEN)
    assert deadline is not None and deadline.due_at == sc.now + WINDOW
    scheduled = [d for d in sc.deadlines if isinstance(d, ScheduleDeadline)]
    assert scheduled[-1].kind == K.CLAIM_REOPEN.value
    assert scheduled[-1].due_at == sc.now + WINDOW
    claim = sc.current.claim
    assert claim is not None and claim.reopen_until == sc.now + WINDOW


def test_P21_a_withdrawn_claim_not_opened_again_in_time_lapses_and_the_order_ends_unpaid() -> None:
    sc, claim_id = withdrawn()
    decision = sc.fire(K.CLAIM_REOPEN)
    lapsed, command = decision.events[0], decision.commands[0]
    assert isinstance(lapsed, ClaimLapsed) and lapsed.status is ClaimStatus.LAPSED
    assert (lapsed.claim_id, lapsed.amount) == (claim_id, eur("60.00"))
    assert isinstance(command, MarkOrderUnpaid)
    assert (command.claim_id, command.cause) == (claim_id, "claim_withdrawn")
    request, claim = sc.current.request, sc.current.claim
    assert request is not None and request.status is RequestStatus.WRITTEN_OFF
    assert claim is not None and claim.status is ClaimStatus.LAPSED
    refused = sc.decide(OpenClaim, SUPPLIER.party, reason=REASON).rejection
    assert refused is not None and refused.reason is R.NOT_ALLOWED_IN_STATUS


def test_P21_opening_a_claim_again_within_the_window_cancels_the_deadline() -> None:
    sc, _ = withdrawn()
    deadline = sc.current.open_deadline(K.CLAIM_REOPEN)
    assert deadline is not None
    decision = sc.later(WINDOW / 2).decide(OpenClaim, SUPPLIER.party, reason=REASON)
    assert CancelDeadline(deadline.id(sc.current.order_id), sc.current.order_id) in (
        decision.deadlines
    )
    stale = sc.fire_id(deadline.id(sc.current.order_id), K.CLAIM_REOPEN.value, deadline.due_at)
    assert not stale.events and not stale.commands
    claim = sc.current.claim
    assert claim is not None and (claim.status, claim.number) == (ClaimStatus.OPENED, 2)
    assert unpaid(sc) == []


def test_P21_past_the_window_a_claim_is_not_opened_again_even_before_the_timer_fires() -> None:
    sc, _ = withdrawn()
    rejection = sc.later(WINDOW).decide(OpenClaim, SUPPLIER.party, reason=REASON).rejection
    assert rejection is not None and rejection.reason is R.NOT_ALLOWED_IN_STATUS


def test_P21_money_after_the_withdrawal_ends_the_window_and_the_order_is_paid() -> None:
    sc, _ = withdrawn()
    deadline = sc.current.open_deadline(K.CLAIM_REOPEN)
    assert deadline is not None
    assert sc.pay("60.00").rejection is None
    assert sc.current.open_deadline(K.CLAIM_REOPEN) is None
    stale = sc.fire_id(deadline.id(sc.current.order_id), K.CLAIM_REOPEN.value, deadline.due_at)
    assert not stale.events and unpaid(sc) == []


def test_P21_an_automatic_charge_that_is_written_off_sends_ordering_nothing() -> None:
    sc = awaiting_payment(payment_stage=False)
    sc.fire(K.PAYMENT_WINDOW)
    claim_id = opened(sc)
    decision = sc.decide(WriteOffClaim, OPERATOR, claim_id=claim_id, reason="Unreachable")
    assert decision.rejection is None and decision.commands == []


def test_P21_the_reopen_window_is_configuration() -> None:
    sc, _ = withdrawn(timedelta(seconds=3))
    deadline = sc.current.open_deadline(K.CLAIM_REOPEN)
    assert deadline is not None and deadline.due_at == sc.now + timedelta(seconds=3)


def test_P21_the_lapse_is_stored_with_the_command_for_ordering_and_the_timer_closed() -> None:
    sc, claim_id = withdrawn()
    deadline = sc.current.open_deadline(K.CLAIM_REOPEN)
    assert deadline is not None
    fired = DeadlineFired(
        deadline.id(sc.current.order_id),
        K.CLAIM_REOPEN.value,
        sc.current.order_id,
        deadline.due_at,
        uuid.uuid4(),
    )
    decision = on_deadline(sc.current, fired, deadline.due_at, sc.ctx)
    cause = command(WithdrawClaim, SUPPLIER.party, claim_id=claim_id)  # any message will do
    stored = change(decision, cause, deadline.due_at)
    assert stored is not None
    by_topic = [(e["topic"], e["type"]) for e in stored.outbox]
    assert by_topic == [
        (PAYMENTS_EVENTS, "ClaimLapsed"),
        (ORDERS_COMMANDS, "MarkOrderUnpaid"),
        (TIMERS_COMMANDS, "CancelDeadline"),
    ]
    parsed = ORDER_COMMANDS.parse(stored.outbox[1]["value"])
    assert isinstance(parsed, MarkOrderUnpaid) and parsed.cause == "claim_withdrawn"
    assert stored.index["request_status"] == "written_off"
