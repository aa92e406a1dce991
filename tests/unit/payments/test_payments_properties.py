"""Whatever the gateway confirms, in whatever order with timers and claims between:
no money is lost or counted twice, and ordering is told at most once."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.orders import MarkOrderPaid
from contracts.payments import (
    ClaimStatus,
    OpenClaim,
    PaymentReceived,
    RefundRequested,
    RequestStatus,
    WithdrawClaim,
)
from payments.domain import DeadlineKind
from payments.domain.money import total
from tests.unit.payments.payments_kit import SUPPLIER, awaiting_payment

Action = tuple[str, int]
actions = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(min_value=1, max_value=9000)),
        st.tuples(st.just("repeat"), st.integers(min_value=0, max_value=10)),
        st.tuples(st.just("window"), st.just(0)),
        st.tuples(st.just("claim"), st.just(0)),
        st.tuples(st.just("withdraw"), st.just(0)),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(steps=actions, payment_stage=st.booleans())
def test_X05_money_received_is_always_applied_or_refunded_and_counted_once(
    steps: list[Action], payment_stage: bool
) -> None:
    sc = awaiting_payment(payment_stage=payment_stage)
    sent: list[tuple[str, str]] = []
    for kind, value in steps:
        if kind == "pay":
            payment_id = f"gw-{len(sent)}"
            amount = str(Decimal(value).scaleb(-2))
            sc.pay(amount, payment_id)
            sent.append((payment_id, amount))
        elif kind == "repeat" and sent:
            payment_id, amount = sent[value % len(sent)]
            decision = sc.pay(amount, payment_id)
            assert decision.rejection is not None and decision.events == []
        elif kind == "window" and sc.current.open_deadline(DeadlineKind.PAYMENT_WINDOW):
            sc.fire(DeadlineKind.PAYMENT_WINDOW)
        elif kind == "claim":
            sc.decide(OpenClaim, SUPPLIER.party, reason="Unpaid")
        elif kind == "withdraw" and sc.current.claim is not None:
            sc.decide(WithdrawClaim, SUPPLIER.party, claim_id=sc.current.claim.claim_id)

    request = sc.current.request
    assert request is not None
    received = [e for e in sc.events if isinstance(e, PaymentReceived)]
    refunds = [e for e in sc.events if isinstance(e, RefundRequested)]
    assert len(received) == len(sent), "each distinct payment is recorded once"
    in_total = total((e.amount for e in received), "EUR")
    applied = total((e.applied for e in received), "EUR")
    refunded = total((e.amount for e in refunds), "EUR")
    assert in_total.amount == applied.amount + refunded.amount
    assert applied.amount <= request.amount.amount
    settled = applied == request.amount
    assert (request.status is RequestStatus.PAID) is settled
    told = [c for c in sc.commands if isinstance(c, MarkOrderPaid)]
    assert len(told) == (1 if settled and payment_stage else 0)
    assert (sc.current.payout is not None) is settled
    if sc.current.payout is not None:
        payout = sc.current.payout
        assert payout.fee.amount + payout.net.amount == payout.gross.amount == applied.amount
    claim = sc.current.claim
    if claim is not None and settled and claim.status is not ClaimStatus.WITHDRAWN:
        assert claim.status is ClaimStatus.PAID
